/**
 * Publishes change events to EventBridge. PutEvents answers 200 even when some entries fail
 * (FailedEntryCount); those entries are sent again with backoff, and whatever still fails is returned to
 * the caller, which must not treat it as delivered.
 */
import { type EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { ChangeEvent } from '../../domain/change-event';
import { retryUntil, type Sleep } from '../retry';

/** PutEvents takes at most ten entries per call... */
const PUT_EVENTS_LIMIT = 10;
/** ...and at most 256 KB per call (and so per entry), counted as putEventsEntrySize does. */
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;

/**
 * An entry's size as EventBridge counts it against the 256 KB limit: the UTF-8 bytes of Source,
 * DetailType and Detail, plus 14 bytes for Time (no Resources here).
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
 */
export function putEventsEntrySize(entry: PutEventsRequestEntry): number {
  return (
    Buffer.byteLength(entry.Source ?? '', 'utf8') +
    Buffer.byteLength(entry.DetailType ?? '', 'utf8') +
    Buffer.byteLength(entry.Detail ?? '', 'utf8') +
    (entry.Time ? 14 : 0)
  );
}

export interface EventBridgePublisherOptions {
  client: EventBridgeClient;
  /** A bus name or ARN; 'default' for the account's default bus. */
  eventBusName: string;
  /** Rounds of re-sending the entries PutEvents reported as failed (throttling, internal errors). */
  maxRounds?: number;
  baseDelayMs?: number;
  sleep?: Sleep;
}

export class EventBridgePublisher {
  private readonly maxRounds: number;
  private readonly baseDelayMs: number;
  private readonly sleep: Sleep | undefined;

  constructor(private readonly options: EventBridgePublisherOptions) {
    this.maxRounds = options.maxRounds ?? 4;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.sleep = options.sleep;
  }

  /** Returns the positions (in `events`) of the events that could not be published. */
  async publish(events: readonly ChangeEvent[]): Promise<number[]> {
    const entries = events.map((event) => this.entry(event));
    const sizes = entries.map(putEventsEntrySize);
    const failed: number[] = [];
    // Calls of at most ten entries and 256 KB, in order. An entry over 256 KB alone cannot be put at all
    // (the domain's record limits keep an event far below it): it is reported failed, never dropped.
    let batch: number[] = [];
    let batchBytes = 0;
    const flush = async () => {
      if (batch.length > 0) failed.push(...(await this.publishBatch(entries, batch)));
      batch = [];
      batchBytes = 0;
    };
    for (let position = 0; position < entries.length; position += 1) {
      const size = sizes[position]!;
      if (size > PUT_EVENTS_MAX_BYTES) {
        await flush();
        failed.push(position);
        continue;
      }
      if (batch.length === PUT_EVENTS_LIMIT || batchBytes + size > PUT_EVENTS_MAX_BYTES) await flush();
      batch.push(position);
      batchBytes += size;
    }
    await flush();
    return failed.sort((a, b) => a - b);
  }

  private async publishBatch(entries: readonly PutEventsRequestEntry[], positions: number[]): Promise<number[]> {
    let pending = positions;
    const backoff = { baseMs: 2 * this.baseDelayMs, capMs: 2_000, jitter: 'none' } as const;
    await retryUntil({ backoff, maxAttempts: this.maxRounds, sleep: this.sleep }, async () => {
      let result;
      try {
        result = await this.options.client.send(
          new PutEventsCommand({ Entries: pending.map((position) => entries[position]!) }),
        );
      } catch {
        // The SDK already retried the call itself; the whole batch is retried in the next round.
        return false;
      }
      const answers = result.Entries ?? [];
      // Entries come back in request order; an entry with an ErrorCode (or none at all) was not put.
      pending = pending.filter((_, index) => !answers[index]?.EventId || Boolean(answers[index]?.ErrorCode));
      return pending.length === 0;
    });
    return pending;
  }

  private entry(event: ChangeEvent): PutEventsRequestEntry {
    return {
      EventBusName: this.options.eventBusName,
      Source: event.source,
      DetailType: event['detail-type'],
      Time: new Date(event.time),
      Detail: JSON.stringify(event.detail),
    };
  }
}
