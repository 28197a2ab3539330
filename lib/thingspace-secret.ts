import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { FotaHistoryConfig } from './fota-history-config';

/**
 * Where and how the functions reach ThingSpace. The secret is created by the operator, never by this
 * stack, so no credential ever passes through CDK, the template or the repository. Its SecretString is
 * JSON: {"appKey": "...", "appSecret": "...", "username": "...", "password": "..."}
 * (the OAuth app key pair and the UWS API user; see adapters/thingspace/credentials.ts).
 * It must be encrypted with the AWS managed key aws/secretsmanager; a customer managed key would also
 * need kms:Decrypt granted to the functions.
 */
export interface ThingSpaceConnection {
  readonly secret: ISecret;
  /** What the functions pass to GetSecretValue: the full ARN when configured, else the name. */
  readonly secretId: string;
  readonly baseUrl: string;
}

export function importThingSpaceConnection(scope: Construct, id: string, config: FotaHistoryConfig): ThingSpaceConnection {
  if (config.thingSpaceSecretArn !== undefined) {
    return {
      secret: Secret.fromSecretCompleteArn(scope, id, config.thingSpaceSecretArn),
      secretId: config.thingSpaceSecretArn,
      baseUrl: config.thingSpaceBaseUrl,
    };
  }
  return {
    secret: Secret.fromSecretNameV2(scope, id, config.thingSpaceSecretName),
    secretId: config.thingSpaceSecretName,
    baseUrl: config.thingSpaceBaseUrl,
  };
}
