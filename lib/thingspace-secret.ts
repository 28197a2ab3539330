/**
 * Where and how the functions reach ThingSpace. The secret is created by the operator, never by this
 * stack, so no credential ever passes through CDK, the template or the repository. Its SecretString is
 * JSON: {"appKey": "...", "appSecret": "...", "username": "...", "password": "..."}
 * (the OAuth app key pair and the UWS API user; see adapters/thingspace/credentials.ts).
 * It is encrypted with the AWS managed key aws/secretsmanager, or with a customer managed key named by
 * `thingSpaceSecretKmsKeyArn`, on which the functions then get kms:Decrypt (through Secrets Manager only).
 */
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { FotaHistoryConfig } from './fota-history-config';

export interface ThingSpaceConnection {
  readonly secret: ISecret;
  /** What the functions pass to GetSecretValue: the full ARN when configured, else the name. */
  readonly secretId: string;
  readonly baseUrl: string;
  /** The customer managed key encrypting the secret, if it is not aws/secretsmanager. */
  readonly kmsKeyArn?: string;
}

export function importThingSpaceConnection(
  scope: Construct,
  id: string,
  config: FotaHistoryConfig,
): ThingSpaceConnection {
  if (config.thingSpaceSecretArn !== undefined) {
    return {
      secret: Secret.fromSecretCompleteArn(scope, id, config.thingSpaceSecretArn),
      secretId: config.thingSpaceSecretArn,
      baseUrl: config.thingSpaceBaseUrl,
      kmsKeyArn: config.thingSpaceSecretKmsKeyArn,
    };
  }
  return {
    secret: Secret.fromSecretNameV2(scope, id, config.thingSpaceSecretName),
    secretId: config.thingSpaceSecretName,
    baseUrl: config.thingSpaceBaseUrl,
    kmsKeyArn: config.thingSpaceSecretKmsKeyArn,
  };
}
