import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** SQS's ceiling for a message's visibility timeout. */
const MAX_VISIBILITY_SECONDS = 12 * 60 * 60;

/**
 * The wait before the next try of a message that failed for the n-th time: exponential with full
 * jitter, so a ThingSpace outage is not hammered by every device at the same moment.
 */
export function retryDelaySeconds(
  receiveCount: number,
  baseSeconds: number,
  maxSeconds: number,
  random = Math.random,
): number {
  const ceiling = Math.min(maxSeconds, baseSeconds * 2 ** Math.max(0, receiveCount - 1), MAX_VISIBILITY_SECONDS);
  return Math.max(1, Math.round(ceiling / 2 + (random() * ceiling) / 2));
}

/** Makes a failed message reappear only after the backoff delay instead of the queue's fixed timeout. */
export async function delayRetry(
  client: SQSClient,
  queueUrl: string,
  receiptHandle: string,
  delaySeconds: number,
): Promise<void> {
  await client.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: queueUrl,
      ReceiptHandle: receiptHandle,
      VisibilityTimeout: Math.min(delaySeconds, MAX_VISIBILITY_SECONDS),
    }),
  );
}
