import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSRecord } from 'aws-lambda';
import { delayRetry, queueUrlFromArn, retryDelaySeconds } from '../adapters/sqs/retry-backoff';
import { ErrorCode, isApiError } from '../domain/api-error';
import { parseDeviceKey } from '../domain/device-key';
import { DeviceSyncError, syncDevice } from '../services/sync-device';
import { deadlineFor } from './commons/deadline';
import { historyDependencies } from './commons/history-dependencies';
import { logger, metrics } from './commons/powertools';
import { sqsRecordHandler } from './commons/powertools-handler';
import { sqsClient } from './commons/sqs-client';

const RETRY_BASE_SECONDS = 30;
const RETRY_MAX_SECONDS = 15 * 60;
const RECORD_RESERVE_MS = 5_000;

/**
 * A message that can never succeed (not a device key, or a device ThingSpace refuses) goes straight
 * to the dead-letter queue with its reason, where the alarm shows it, instead of being retried.
 */
async function deadLetter(record: SQSRecord, errorCode: string, errorMessage: string): Promise<void> {
  logger.error('sync message dead-lettered', { messageId: record.messageId, errorCode, errorMessage });
  metrics.addMetric('SyncDeadLettered', MetricUnit.Count, 1);
  const dlqUrl = process.env.SYNC_DLQ_URL;
  if (!dlqUrl) throw new Error('SYNC_DLQ_URL is not set');
  await sqsClient().send(
    new SendMessageCommand({
      QueueUrl: dlqUrl,
      MessageBody: record.body,
      MessageAttributes: {
        errorCode: { DataType: 'String', StringValue: errorCode },
        errorMessage: { DataType: 'String', StringValue: errorMessage },
      },
    }),
  );
}

function parseMessage(body: string) {
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch {
    return { error: { errorCode: ErrorCode.invalidParameter, errorMessage: 'Message body is not JSON' } };
  }
  try {
    return { device: parseDeviceKey(payload as Record<string, unknown>) };
  } catch (error) {
    if (isApiError(error)) return { error: error.body };
    throw error;
  }
}

async function syncRecord(record: SQSRecord, context: Context): Promise<void> {
  const parsed = parseMessage(record.body);
  if (!parsed.device) {
    await deadLetter(record, parsed.error.errorCode, parsed.error.errorMessage);
    return;
  }
  try {
    const result = await syncDevice(parsed.device, historyDependencies(), {
      deadline: deadlineFor(context, RECORD_RESERVE_MS),
    });
    metrics.addMetric('DevicesSynced', MetricUnit.Count, 1);
    metrics.addMetric('UpgradesInserted', MetricUnit.Count, result.archive.inserted);
    metrics.addMetric('UpgradesUpdated', MetricUnit.Count, result.archive.updated);
  } catch (error) {
    if (error instanceof DeviceSyncError && !error.retryable) {
      await deadLetter(record, error.errorCode, error.message);
      return;
    }
    metrics.addMetric('DeviceSyncFailures', MetricUnit.Count, 1);
    const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
    const delay = retryDelaySeconds(receiveCount, RETRY_BASE_SECONDS, RETRY_MAX_SECONDS);
    logger.warn('device sync failed; retrying later', {
      ...parsed.device,
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
