import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { type ErrorBody, ErrorCode, isApiError } from '../../domain/api-error';
import { logger, metrics } from './powertools';

/**
 * A message that can never succeed (not valid, or refused by ThingSpace) goes straight to the queue's
 * dead-letter queue with its reason as message attributes, where the alarm shows it, instead of
 * being received and failed again until the redrive policy gives up on it.
 */
export async function deadLetter(
  record: SQSRecord,
  dlq: { client: SQSClient; queueUrl: string },
  reason: ErrorBody,
): Promise<void> {
  logger.error('message dead-lettered', { messageId: record.messageId, ...reason });
  metrics.addMetric('MessagesDeadLettered', MetricUnit.Count, 1);
  await dlq.client.send(
    new SendMessageCommand({
      QueueUrl: dlq.queueUrl,
      MessageBody: record.body,
      MessageAttributes: {
        errorCode: { DataType: 'String', StringValue: reason.errorCode },
        errorMessage: { DataType: 'String', StringValue: reason.errorMessage },
      },
    }),
  );
}

/**
 * A message body validated with the same rules as the API: JSON, then `parse` (which throws an
 * ApiError for bad fields). Returns the value, or the ThingSpace-shaped reason it was refused.
 */
export function parseMessage<T>(
  body: string,
  parse: (payload: Record<string, unknown>) => T,
): { value: T } | { refused: ErrorBody } {
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch {
    return { refused: { errorCode: ErrorCode.invalidParameter, errorMessage: 'Message body is not JSON' } };
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return { refused: { errorCode: ErrorCode.invalidParameter, errorMessage: 'Message body is not a JSON object' } };
  }
  try {
    return { value: parse(payload as Record<string, unknown>) };
  } catch (error) {
    if (isApiError(error)) return { refused: error.body };
    throw error;
  }
}
