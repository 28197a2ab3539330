import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { ChangeEvent } from '../../domain/change-event';

/** PutEvents takes at most ten entries per call. */
const PUT_EVENTS_LIMIT = 10;

export interface EventBridgePublisherOptions {
  client: EventBridgeClient;
  /** A bus name or ARN; 'default' for the account's default bus. */
  eventBusName: string;
  /** Rounds of re-sending the entries PutEvents reported as failed (throttling, internal errors). */
  maxRounds?: number;
  baseDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Publishes change events to EventBridge. PutEvents answers 200 even when some entries fail
 * (FailedEntryCount); those entries are sent again with backoff, and whatever still fails is returned to
 * the caller, which must not treat it as delivered.
 */
export class EventBridgePublisher {
  private readonly maxRounds: number;
  private readonly baseDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: EventBridgePublisherOptions) {
    this.maxRounds = options.maxRounds ?? 4;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Returns the positions (in `events`) of the events that could not be published. */
  async publish(events: readonly ChangeEvent[]): Promise<number[]> {
    const failed: number[] = [];
    for (let start = 0; start < events.length; start += PUT_EVENTS_LIMIT) {
      const positions = events.slice(start, start + PUT_EVENTS_LIMIT).map((_, index) => start + index);
      failed.push(...(await this.publishBatch(events, positions)));
    }
    return failed;
  }

  private async publishBatch(events: readonly ChangeEvent[], positions: number[]): Promise<number[]> {
    let pending = positions;
    for (let round = 0; round < this.maxRounds && pending.length > 0; round += 1) {
      if (round > 0) await this.sleep(Math.min(2_000, this.baseDelayMs * 2 ** round));
      let result;
      try {
        result = await this.options.client.send(
          new PutEventsCommand({ Entries: pending.map((position) => this.entry(events[position]!)) }),
        );
      } catch {
        // The SDK already retried the call itself; the whole batch is retried in the next round.
        continue;
      }
      const entries = result.Entries ?? [];
      // Entries come back in request order; an entry with an ErrorCode (or none at all) was not put.
      pending = pending.filter((_, index) => !entries[index]?.EventId || Boolean(entries[index]?.ErrorCode));
    }
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
