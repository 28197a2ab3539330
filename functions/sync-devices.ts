/** SQS worker: syncs each named device; failed messages are reported one by one and retried with backoff. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSRecord } from 'aws-lambda';
import { delayRetry, retryDelaySeconds } from '../adapters/sqs/retry-backoff';
import { parseDeviceKey } from '../domain/device-key';
import { MAX_LISTED_FIELD_LENGTH } from '../domain/fleet-selection';
import type { ListedState } from '../domain/ports';
import { isThingSpaceError } from '../domain/thingspace-error';
import type { HistoryDependencies } from '../services/observe-device';
import { DeviceSyncError, syncDevice } from '../services/sync-device';
import { deployedConfig, ENV, required, type ServiceConfig } from './commons/configuration';
import { deadLetter } from './commons/dead-letter';
import { deadlineFor } from './commons/deadline';
import { deployedHistoryDependencies } from './commons/history-dependencies';
import { recordUpstreamFailure } from './commons/history-metrics';
import { parseMessage } from './commons/message-body';
import { logger, metrics } from './commons/powertools';
import { sqsRecordHandler } from './commons/powertools-handler';
import { sqsClient } from './commons/sqs-client';
import { syncDisposition } from './commons/sync-failures';

const RETRY_BASE_SECONDS = 30;
const RETRY_MAX_SECONDS = 15 * 60;
const RECORD_RESERVE_MS = 5_000;
/** The archive may use part of the record's reserve, so writes after a late upstream answer still land. */
const STORE_RESERVE_MS = 2_000;

/**
 * The device-list entry discovery selected the device on (`{account, deviceId, listed: {firmware,
 * upgradeTime}}`); absent in messages from events or callers, which then sync without it.
 */
function listedOf(payload: { listed?: unknown }): ListedState | undefined {
  const listed = payload.listed as { firmware?: unknown; upgradeTime?: unknown } | undefined;
  if (typeof listed !== 'object' || listed === null) return undefined;
  if (typeof listed.firmware !== 'string' || typeof listed.upgradeTime !== 'string') return undefined;
  if (listed.firmware.length > MAX_LISTED_FIELD_LENGTH || listed.upgradeTime.length > MAX_LISTED_FIELD_LENGTH)
    return undefined;
  return { firmware: listed.firmware, upgradeTime: listed.upgradeTime };
}

export interface SyncWorkerDependencies {
  history: HistoryDependencies;
  sqs: SQSClient;
  /** `sync` (a retried message's visibility is stretched there) and `syncDeadLetter`. */
  queues: ServiceConfig['queues'];
}

async function syncRecord(record: SQSRecord, context: Context, dependencies: SyncWorkerDependencies): Promise<void> {
  const deadLetterQueue = () => ({
    client: dependencies.sqs,
    queueUrl: required(dependencies.queues.syncDeadLetter, ENV.SYNC_DLQ_URL),
  });
  const parsed = parseMessage(record.body, (payload) => ({
    device: parseDeviceKey(payload),
    listed: listedOf(payload),
  }));
  if ('refused' in parsed) {
    await deadLetter(record, deadLetterQueue(), parsed.refused);
    return;
  }
  const { device, listed } = parsed.value;
  try {
    const result = await syncDevice(device, dependencies.history, {
      deadline: deadlineFor(context, RECORD_RESERVE_MS),
      storeDeadline: deadlineFor(context, STORE_RESERVE_MS),
      listed,
    });
    metrics.addMetric('DevicesSynced', MetricUnit.Count, 1);
    metrics.addMetric('UpgradesInserted', MetricUnit.Count, result.archive.inserted);
    metrics.addMetric('UpgradesUpdated', MetricUnit.Count, result.archive.updated);
    metrics.addMetric('UpgradesNotArchived', MetricUnit.Count, result.archive.skipped);
  } catch (error) {
    if (error instanceof DeviceSyncError && isThingSpaceError(error.cause)) recordUpstreamFailure(error.cause.failure);
    const disposition = syncDisposition(error);
    if (disposition.action === 'dead-letter') {
      await deadLetter(record, deadLetterQueue(), disposition.reason);
      return;
    }
    metrics.addMetric('DeviceSyncFailures', MetricUnit.Count, 1);
    const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
    const delay = retryDelaySeconds(receiveCount, RETRY_BASE_SECONDS, RETRY_MAX_SECONDS);
    logger.warn('device sync failed; retrying later', {
      ...device,
      errorCode: disposition.errorCode,
      receiveCount,
      retryInSeconds: delay,
    });
    // The queue URL comes from CDK rather than from the record's ARN, so the SDK's endpoint resolution
    // (AWS_ENDPOINT_URL_SQS, FIPS, other partitions) applies to the host it is sent to.
    await delayRetry(
      dependencies.sqs,
      required(dependencies.queues.sync, ENV.SYNC_QUEUE_URL),
      record.receiptHandle,
      delay,
    ).catch((visibilityError: unknown) => logger.warn('could not delay the retry', visibilityError as Error));
    throw error;
  }
}

export function makeHandler(dependencies: () => SyncWorkerDependencies) {
  return sqsRecordHandler((record, context) => syncRecord(record, context, dependencies()));
}

/**
 * Deployed: one set of dependencies per execution environment, from the environment the stack sets. The
 * ThingSpace and store side is built at its first use, after the message is parsed: a message that can
 * never succeed is still dead-lettered with its reason when that side cannot be built (say, a secret id
 * missing), and such a failure is retried like any other.
 */
export const handler = makeHandler(() => ({
  get history() {
    return deployedHistoryDependencies();
  },
  sqs: sqsClient(),
  queues: deployedConfig().queues,
}));
