/**
 * A message that can never succeed (not valid, or refused by ThingSpace) goes straight to the queue's
 * dead-letter queue with its reason as message attributes, where the alarm shows it, instead of
 * being received and failed again until the redrive policy gives up on it.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import type { ErrorBody } from '../../domain/failure';
import { logger, metrics } from './powertools';

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
