/** What the callback listener's handler is built from: the callback credentials and the sync queue. */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SqsDeviceSyncQueue } from '../../adapters/sqs/sqs-device-sync-queue';
import { SqsMessageSender } from '../../adapters/sqs/sqs-message-sender';
import { parseCallbackCredentials, parseSecretJson } from '../../adapters/thingspace/credentials';
import type { CallbackCredentials } from '../../domain/callback-payload';
import type { CallbackDependencies } from '../../services/accept-callback';
import { deployedConfig, ENV, required, type ServiceConfig } from './configuration';
import { tracer } from './powertools';
import { sqsClient } from './sqs-client';

/** As for the ThingSpace credentials: a rotated callback password is picked up within five minutes. */
const SECRET_MAX_AGE_SECONDS = 300;

/**
 * THINGSPACE_CALLBACK_CREDENTIALS (JSON {"username","password"}, one machine) or the ThingSpace
 * secret's optional callbackUsername/callbackPassword (THINGSPACE_SECRET_ID, deployed); neither means
 * no listener (the route answers 404).
 */
export function callbackCredentials(config: ServiceConfig): () => Promise<CallbackCredentials | undefined> {
  const inline = config.callbackCredentials;
  if (inline) return async () => inline;
  const secretId = config.thingspace.secretId;
  if (!secretId) return async () => undefined;
  const secrets = new SecretsProvider({ awsSdkV3Client: tracer.captureAWSv3Client(new SecretsManagerClient({})) });
  return async () =>
    parseCallbackCredentials(parseSecretJson(await secrets.get(secretId, { maxAge: SECRET_MAX_AGE_SECONDS })));
}

/** The deployed listener's: the credentials (cached secret) and the sync queue (SYNC_QUEUE_URL). */
function buildCallbackDependencies(config: ServiceConfig): CallbackDependencies {
  const queueUrl = required(config.queues.sync, ENV.SYNC_QUEUE_URL);
  return {
    credentials: callbackCredentials(config),
    syncQueue: new SqsDeviceSyncQueue(new SqsMessageSender({ client: sqsClient(), queueUrl })),
  };
}

let deployed: CallbackDependencies | undefined;

/** Built once per execution environment, at first use. */
export function deployedCallbackDependencies(): CallbackDependencies {
  deployed ??= buildCallbackDependencies(deployedConfig());
  return deployed;
}
