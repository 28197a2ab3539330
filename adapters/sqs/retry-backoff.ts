/**
 * The sync worker's backoff for a failed message: its next receive is delayed through its visibility
 * timeout.
 */
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { backoff } from '../retry';

/** SQS's ceiling for a message's visibility timeout. */
const MAX_VISIBILITY_SECONDS = 12 * 60 * 60;

/**
 * The wait before the next try of a message that failed for the n-th time: exponential with equal
 * jitter (the upper half of the ceiling), so a ThingSpace outage is not hammered by every device at the
 * same moment, yet no retry comes back early: the redrive policy allows a message only a few receives,
 * and they must span the outage rather than be spent in its first seconds.
 */
export function retryDelaySeconds(
  receiveCount: number,
  baseSeconds: number,
  maxSeconds: number,
  random = Math.random,
): number {
  const capSeconds = Math.min(maxSeconds, MAX_VISIBILITY_SECONDS);
  const delayMs = backoff(
    receiveCount,
    { baseMs: baseSeconds * 1000, capMs: capSeconds * 1000, jitter: 'equal' },
    random,
  );
  return Math.max(1, Math.round(delayMs / 1000));
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
