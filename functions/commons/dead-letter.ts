import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { type ErrorBody, ErrorCode } from '../../domain/failure';
import { logger, metrics } from './powertools';
import { sqsClient } from './sqs-client';
import { syncDisposition } from './sync-failures';

/**
 * A message that can never succeed (not valid, or refused by ThingSpace) goes straight to the queue's
 * dead-letter queue with its reason as message attributes, where the alarm shows it, instead of
 * being received and failed again until the redrive policy gives up on it.
 */
export async function deadLetter(record: SQSRecord, dlqUrlVariable: string, reason: ErrorBody): Promise<void> {
  logger.error('message dead-lettered', { messageId: record.messageId, ...reason });
  metrics.addMetric('MessagesDeadLettered', MetricUnit.Count, 1);
  const dlqUrl = process.env[dlqUrlVariable];
  if (!dlqUrl) throw new Error(`${dlqUrlVariable} is not set`);
  await sqsClient().send(
    new SendMessageCommand({
      QueueUrl: dlqUrl,
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
 * invalid-parameter failure for bad fields). Returns the value, or the ThingSpace-shaped reason it was refused.
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
    const disposition = syncDisposition(error);
    if (disposition.action === 'dead-letter') return { refused: disposition.reason };
    throw error;
  }
}
