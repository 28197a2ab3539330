import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';

const SQS_BATCH_LIMIT = 10;
const MAX_ROUNDS = 8;

export interface SqsMessageSenderOptions {
  client: SQSClient;
  queueUrl: string;
  /** SendMessageBatch calls in flight at once. */
  parallelBatches?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Sends JSON message bodies in batches of ten. SendMessageBatch can succeed for some entries and fail
 * for others; the failed ones are sent again, so no message is silently dropped.
 */
export class SqsMessageSender {
  private readonly parallelBatches: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: SqsMessageSenderOptions) {
    this.parallelBatches = options.parallelBatches ?? 10;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
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
    for (let start = 0; start < batches.length; start += this.parallelBatches) {
      await Promise.all(batches.slice(start, start + this.parallelBatches).map((batch) => this.sendBatch(batch)));
    }
  }

  private async sendBatch(entries: SendMessageBatchRequestEntry[]): Promise<void> {
    let pending = entries;
    for (let round = 0; round < MAX_ROUNDS && pending.length > 0; round += 1) {
      if (round > 0) await this.sleep(Math.min(5_000, 100 * 2 ** round));
      const result = await this.options.client.send(
        new SendMessageBatchCommand({ QueueUrl: this.options.queueUrl, Entries: pending }),
      );
      const failedIds = new Set((result.Failed ?? []).map((failure) => failure.Id));
      const permanent = (result.Failed ?? []).filter((failure) => failure.SenderFault);
      if (permanent.length > 0) {
        throw new Error(`SQS refused ${permanent.length} message(s): ${permanent[0]?.Code ?? 'unknown'}`);
      }
      pending = pending.filter((entry) => failedIds.has(entry.Id));
    }
    if (pending.length > 0)
      throw new Error(`SQS did not accept ${pending.length} message(s) after ${MAX_ROUNDS} rounds`);
  }
}
