/**
 * Sends JSON message bodies in batches of ten. SendMessageBatch can succeed for some entries and fail
 * for others; the failed ones are sent again, so no message is silently dropped.
 */
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import pLimit from 'p-limit';
import { type BackoffPolicy, retryUntil, type Sleep } from '../retry';

const SQS_BATCH_LIMIT = 10;
const MAX_ROUNDS = 8;
const ROUND_BACKOFF: BackoffPolicy = { baseMs: 200, capMs: 5_000, jitter: 'none' };

export interface SqsMessageSenderOptions {
  client: SQSClient;
  queueUrl: string;
  /** SendMessageBatch calls in flight at once. */
  parallelBatches?: number;
  sleep?: Sleep;
}

export class SqsMessageSender {
  private readonly parallelBatches: number;
  private readonly sleep: Sleep | undefined;

  constructor(private readonly options: SqsMessageSenderOptions) {
    this.parallelBatches = options.parallelBatches ?? 10;
    this.sleep = options.sleep;
  }

  async sendAll(bodies: readonly unknown[]): Promise<void> {
    const batches: SendMessageBatchRequestEntry[][] = [];
    for (let start = 0; start < bodies.length; start += SQS_BATCH_LIMIT) {
      batches.push(
        bodies.slice(start, start + SQS_BATCH_LIMIT).map((body, index) => ({
          Id: String(index),
          MessageBody: JSON.stringify(body),
        })),
      );
    }
    const limit = pLimit(this.parallelBatches);
    await limit.map(batches, (batch) =>
      this.sendBatch(batch).catch((error: unknown) => {
        // The caller is about to see this error: the batches not started yet are not sent at all.
        limit.clearQueue();
        throw error;
      }),
    );
  }

  private async sendBatch(entries: SendMessageBatchRequestEntry[]): Promise<void> {
    let pending = entries;
    const sent = await retryUntil({ backoff: ROUND_BACKOFF, maxAttempts: MAX_ROUNDS, sleep: this.sleep }, async () => {
      const result = await this.options.client.send(
        new SendMessageBatchCommand({ QueueUrl: this.options.queueUrl, Entries: pending }),
      );
      const failedIds = new Set((result.Failed ?? []).map((failure) => failure.Id));
      const permanent = (result.Failed ?? []).filter((failure) => failure.SenderFault);
      if (permanent.length > 0) {
        throw new Error(`SQS refused ${permanent.length} message(s): ${permanent[0]?.Code ?? 'unknown'}`);
      }
      pending = pending.filter((entry) => failedIds.has(entry.Id));
      return pending.length === 0;
    });
    if (!sent) throw new Error(`SQS did not accept ${pending.length} message(s) after ${MAX_ROUNDS} rounds`);
  }
}
