import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SqsDeviceSyncQueue } from '../../adapters/sqs/sqs-device-sync-queue';
import { SqsMessageSender } from '../../adapters/sqs/sqs-message-sender';
import { parseCallbackCredentials, parseSecretJson } from '../../adapters/thingspace/credentials';
import type { CallbackCredentials } from '../../domain/callback-payload';
import type { CallbackDependencies } from '../../services/accept-callback';
import { ConfigurationError } from './history-dependencies';
import { tracer } from './powertools';
import { sqsClient } from './sqs-client';

/** As for the ThingSpace credentials: a rotated callback password is picked up within five minutes. */
const SECRET_MAX_AGE_SECONDS = 300;

/**
 * THINGSPACE_CALLBACK_CREDENTIALS (JSON {"username","password"}, one machine) or the ThingSpace
 * secret's optional callbackUsername/callbackPassword (THINGSPACE_SECRET_ID, deployed); neither means
 * no listener (the route answers 404).
 */
export function callbackCredentialsFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
): () => Promise<CallbackCredentials | undefined> {
  const inline = env.THINGSPACE_CALLBACK_CREDENTIALS;
  if (inline) {
    const credentials = parseInlineCallbackCredentials(inline);
    return async () => credentials;
  }
  const secretId = env.THINGSPACE_SECRET_ID;
  if (!secretId) return async () => undefined;
  const secrets = new SecretsProvider({ awsSdkV3Client: tracer.captureAWSv3Client(new SecretsManagerClient({})) });
  return async () =>
    parseCallbackCredentials(parseSecretJson(await secrets.get(secretId, { maxAge: SECRET_MAX_AGE_SECONDS })));
}

function parseInlineCallbackCredentials(text: string): CallbackCredentials {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigurationError(
      'THINGSPACE_CALLBACK_CREDENTIALS is not valid JSON (expected {"username","password"})',
    );
  }
  const { username, password } = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (typeof username !== 'string' || username === '' || typeof password !== 'string' || password === '') {
    throw new ConfigurationError(
      'THINGSPACE_CALLBACK_CREDENTIALS must be {"username","password"} with non-empty strings',
    );
  }
  return { username, password };
}

let dependencies: CallbackDependencies | undefined;

/** Built once per execution environment: the credentials (cached secret) and the sync queue (SYNC_QUEUE_URL). */
export function callbackDependencies(): CallbackDependencies {
  if (dependencies) return dependencies;
  const queueUrl = process.env.SYNC_QUEUE_URL;
  if (!queueUrl) throw new ConfigurationError('SYNC_QUEUE_URL is not set');
  dependencies = {
    credentials: callbackCredentialsFromEnvironment(),
    syncQueue: new SqsDeviceSyncQueue(new SqsMessageSender({ client: sqsClient(), queueUrl })),
  };
  return dependencies;
}

/** npm start: the in-process sync pool instead of SQS (the same sync path as `npm run sync`). */
export function useCallbackDependencies(local: CallbackDependencies): void {
  dependencies = local;
}
