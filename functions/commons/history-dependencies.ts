import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createDocumentClient } from '../../adapters/dynamodb/client';
import { DynamoDbHistoryStore } from '../../adapters/dynamodb/dynamodb-history-store';
import { DynamoDbLoginGuard } from '../../adapters/dynamodb/dynamodb-login-guard';
import { createThingSpaceClient } from '../../adapters/thingspace/client';
import {
  parseCredentials,
  parseCredentialsJson,
  parseSecretJson,
  type CredentialsProvider,
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
 * The secret is cached with a finite expiry by Powertools Parameters, and parsed here (parseSecretJson).
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
  return async () =>
    parseCredentials(parseSecretJson(await secrets.get(secretId, { maxAge: SECRET_MAX_AGE_SECONDS })));
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
  const client = tracer.captureAWSv3Client(createDocumentClient({ endpoint: process.env.DYNAMODB_ENDPOINT || undefined }));
  dependencies = {
    thingspace: createThingSpaceClient({
      baseUrl: process.env.THINGSPACE_BASE_URL ?? DEFAULT_THINGSPACE_BASE_URL,
      credentials: credentialsFromEnvironment(),
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
