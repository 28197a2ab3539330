import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSRecord } from 'aws-lambda';
import { delayRetry, queueUrlFromArn, retryDelaySeconds } from '../adapters/sqs/retry-backoff';
import { parseDeviceKey } from '../domain/device-key';
import { DeviceSyncError, syncDevice } from '../services/sync-device';
import { deadLetter, parseMessage } from './commons/dead-letter';
import { deadlineFor } from './commons/deadline';
import { historyDependencies } from './commons/history-dependencies';
import { logger, metrics } from './commons/powertools';
import { sqsRecordHandler } from './commons/powertools-handler';
import { sqsClient } from './commons/sqs-client';

const RETRY_BASE_SECONDS = 30;
const RETRY_MAX_SECONDS = 15 * 60;
const RECORD_RESERVE_MS = 5_000;
/** The archive may use part of the record's reserve, so writes after a late upstream answer still land. */
const STORE_RESERVE_MS = 2_000;

async function syncRecord(record: SQSRecord, context: Context): Promise<void> {
  const parsed = parseMessage(record.body, parseDeviceKey);
  if ('refused' in parsed) {
    await deadLetter(record, 'SYNC_DLQ_URL', parsed.refused);
    return;
  }
  const device = parsed.value;
  try {
    const result = await syncDevice(device, historyDependencies(), {
      deadline: deadlineFor(context, RECORD_RESERVE_MS),
      storeDeadline: deadlineFor(context, STORE_RESERVE_MS),
    });
    metrics.addMetric('DevicesSynced', MetricUnit.Count, 1);
    metrics.addMetric('UpgradesInserted', MetricUnit.Count, result.archive.inserted);
    metrics.addMetric('UpgradesUpdated', MetricUnit.Count, result.archive.updated);
    metrics.addMetric('UpgradesNotArchived', MetricUnit.Count, result.archive.skipped);
  } catch (error) {
    if (error instanceof DeviceSyncError && !error.retryable) {
      await deadLetter(record, 'SYNC_DLQ_URL', { errorCode: error.errorCode, errorMessage: error.message });
      return;
    }
    metrics.addMetric('DeviceSyncFailures', MetricUnit.Count, 1);
    const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
    const delay = retryDelaySeconds(receiveCount, RETRY_BASE_SECONDS, RETRY_MAX_SECONDS);
    logger.warn('device sync failed; retrying later', {
      ...device,
      errorCode: error instanceof DeviceSyncError ? error.errorCode : 'UNEXPECTED',
      receiveCount,
      retryInSeconds: delay,
    });
    await delayRetry(sqsClient(), queueUrlFromArn(record.eventSourceARN), record.receiptHandle, delay).catch(
      (visibilityError: unknown) => logger.warn('could not delay the retry', visibilityError as Error),
    );
    throw error;
  }
}

/** SQS worker: syncs each named device; failed messages are reported one by one and retried with backoff. */
export const handler = sqsRecordHandler(syncRecord);
