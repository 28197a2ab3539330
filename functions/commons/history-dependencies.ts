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
import { recordDroppedUpstreamRecords } from './history-metrics';
import { logger, tracer } from './powertools';

/** How long a fetched secret is trusted before it is read again, so a rotation is picked up. */
const SECRET_MAX_AGE_SECONDS = 300;
const DEFAULT_THINGSPACE_BASE_URL = 'https://thingspace.verizon.com';

export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new ConfigurationError(`${name} is not set`);
  return value;
}

/**
 * THINGSPACE_CREDENTIALS (JSON, for local runs) or THINGSPACE_SECRET_ID (Secrets Manager, deployed).
 * The secret is cached with a finite expiry by Powertools Parameters. A secret that cannot be read
 * fails with CredentialsUnavailableError naming the cause, so it is never mistaken for ThingSpace
 * refusing the credentials (ThingSpace is not asked at all).
 */
export function credentialsFromEnvironment(): CredentialsProvider {
  const inline = process.env.THINGSPACE_CREDENTIALS;
  if (inline) {
    const credentials = parseCredentialsJson(inline);
    return async () => credentials;
  }
  const secretId = required('THINGSPACE_SECRET_ID');
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

let credentials: CredentialsProvider | undefined;

/**
 * Reads the credentials once through the same cached provider the ThingSpace client uses, so
 * `npm start` can stop at start-up on a secret it cannot read instead of failing every request.
 */
export async function readCredentialsNow(): Promise<void> {
  await sharedCredentials()();
}

function sharedCredentials(): CredentialsProvider {
  credentials ??= credentialsFromEnvironment();
  return credentials;
}

/** A positive whole number from the environment, or undefined to keep the client's default. */
function optionalPositiveInteger(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new ConfigurationError(`${name} must be a positive whole number`);
  return number;
}

let dependencies: HistoryDependencies | undefined;

/**
 * Built once per execution environment and kept at module scope, so ThingSpace tokens and sessions,
 * the cached secret and the DynamoDB connections are reused across invocations. The ThingSpace client's
 * logins go through the login guard in the same table, shared by every Lambda instance (and by
 * `npm start` / `npm run sync`), so that many instances together cannot lock the ThingSpace API user.
 */
export function historyDependencies(): HistoryDependencies {
  if (dependencies) return dependencies;
  const tableName = required('TABLE_NAME');
  const client = tracer.captureAWSv3Client(
    createDocumentClient({ endpoint: process.env.DYNAMODB_ENDPOINT || undefined }),
  );
  dependencies = {
    thingspace: createThingSpaceClient({
      baseUrl: process.env.THINGSPACE_BASE_URL ?? DEFAULT_THINGSPACE_BASE_URL,
      credentials: sharedCredentials(),
      timeoutMs: optionalPositiveInteger('THINGSPACE_TIMEOUT_MS'),
      maxAttempts: optionalPositiveInteger('THINGSPACE_MAX_ATTEMPTS'),
      baseDelayMs: optionalPositiveInteger('THINGSPACE_RETRY_BASE_MS'),
      maxBodyBytes: optionalPositiveInteger('THINGSPACE_MAX_BODY_BYTES'),
      onRecordsDropped: recordDroppedUpstreamRecords,
      loginGuard: new DynamoDbLoginGuard({ client, tableName }),
      logger,
    }),
    store: new DynamoDbHistoryStore({ client, tableName, logger }),
  };
  return dependencies;
}
