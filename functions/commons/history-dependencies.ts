/**
 * What the history route, the direct invoke, the sync worker and discovery are built from: the ThingSpace
 * client with its credentials and login guard, and the store.
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createDocumentClient } from '../../adapters/dynamodb/client';
import { DynamoDbHistoryStore } from '../../adapters/dynamodb/dynamodb-history-store';
import { DynamoDbLoginGuard } from '../../adapters/dynamodb/dynamodb-login-guard';
import { createThingSpaceClient } from '../../adapters/thingspace/client';
import {
  type CredentialsProvider,
  CredentialsUnavailableError,
  type CredentialsUnavailableReason,
  parseCredentialsJson,
} from '../../adapters/thingspace/credentials';
import type { HistoryDependencies } from '../../services/observe-device';
import { deployedConfig, ENV, required, type ServiceConfig } from './configuration';
import { recordDroppedUpstreamRecords } from './history-metrics';
import { logger, tracer } from './powertools';

/** How long a fetched secret is trusted before it is read again, so a rotation is picked up. */
const SECRET_MAX_AGE_SECONDS = 300;

/**
 * THINGSPACE_CREDENTIALS (JSON, for local runs) or THINGSPACE_SECRET_ID (Secrets Manager, deployed).
 * The secret is cached with a finite expiry by Powertools Parameters. A secret that cannot be read
 * fails with CredentialsUnavailableError naming the cause, so it is never mistaken for ThingSpace
 * refusing the credentials (ThingSpace is not asked at all).
 */
export function thingSpaceCredentials(config: ServiceConfig['thingspace']): CredentialsProvider {
  const inline = config.credentials;
  if (inline) return async () => inline;
  const secretId = required(config.secretId, ENV.THINGSPACE_SECRET_ID);
  const secrets = new SecretsProvider({
    awsSdkV3Client: tracer.captureAWSv3Client(new SecretsManagerClient({})),
  });
  return async () => {
    let text: string;
    try {
      const value = await secrets.get(secretId, { maxAge: SECRET_MAX_AGE_SECONDS });
      if (value === undefined)
        throw Object.assign(new Error('the secret has no value'), { name: 'ResourceNotFoundException' });
      text = typeof value === 'string' ? value : Buffer.from(value).toString('utf8');
    } catch (error) {
      const [reason, cause] = secretReadFailure(error);
      throw new CredentialsUnavailableError(
        reason,
        `the ThingSpace credentials secret ${secretId} could not be read: ${cause}`,
        { cause: error },
      );
    }
    try {
      return parseCredentialsJson(text);
    } catch (error) {
      // parseCredentialsJson names missing fields, never values.
      const reason = (error as Error).message.includes('not valid JSON') ? 'not-json' : 'wrong-shape';
      throw new CredentialsUnavailableError(
        reason,
        `the ThingSpace credentials secret ${secretId} could not be read: ${(error as Error).message}`,
      );
    }
  };
}

/** The SDK's error names along the cause chain (Powertools wraps them in GetParameterError). */
function secretReadFailure(error: unknown): [CredentialsUnavailableReason, string] {
  const names: string[] = [];
  let innermost: Error | undefined;
  for (let current = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth += 1) {
    names.push(current.name);
    innermost = current;
  }
  if (names.includes('ResourceNotFoundException'))
    return ['not-found', 'it does not exist (ResourceNotFoundException)'];
  if (names.includes('AccessDeniedException')) return ['access-denied', 'access denied (AccessDeniedException)'];
  if (names.includes('CredentialsProviderError'))
    return ['no-aws-credentials', 'no AWS credentials to read it with (set AWS_PROFILE or AWS_ACCESS_KEY_ID)'];
  return ['unreadable', innermost ? `${innermost.name}: ${innermost.message}`.slice(0, 200) : String(error)];
}

/**
 * Built once per execution environment and reused across invocations, so ThingSpace tokens and sessions, the cached
 * secret and the DynamoDB connections are too. The ThingSpace client's logins go through the login
 * guard in the same table, shared by every Lambda instance (and by `npm start` / `npm run sync`), so
 * that many instances together cannot lock the ThingSpace API user. `credentials` lets npm start pass
 * the provider it has already read the secret through.
 */
export function buildHistoryDependencies(
  config: ServiceConfig,
  options: { credentials?: CredentialsProvider } = {},
): HistoryDependencies {
  const tableName = required(config.tableName, ENV.TABLE_NAME);
  const client = tracer.captureAWSv3Client(createDocumentClient({ endpoint: config.dynamoDbEndpoint, ...config.aws }));
  return {
    thingspace: createThingSpaceClient({
      baseUrl: config.thingspace.baseUrl,
      credentials: options.credentials ?? thingSpaceCredentials(config.thingspace),
      timeoutMs: config.thingspace.timeoutMs,
      maxAttempts: config.thingspace.maxAttempts,
      baseDelayMs: config.thingspace.retryBaseMs,
      maxBodyBytes: config.thingspace.maxBodyBytes,
      onRecordsDropped: recordDroppedUpstreamRecords,
      loginGuard: new DynamoDbLoginGuard({ client, tableName }),
      logger,
    }),
    store: new DynamoDbHistoryStore({ client, tableName, logger }),
  };
}

let deployed: HistoryDependencies | undefined;

/** The deployed functions' set, from the environment the stack sets, built at first use. */
export function deployedHistoryDependencies(): HistoryDependencies {
  deployed ??= buildHistoryDependencies(deployedConfig());
  return deployed;
}
