/**
 * The change feed of a run on one machine: without DynamoDB Streams, change events come from the write
 * path into DATA_DIR/events.jsonl.
 */
import { resolve } from 'node:path';
import { ChangeEventEmittingStore } from '../adapters/events/change-event-emitting-store';
import { DEFAULT_DATA_DIR } from '../functions/commons/configuration';
import type { HistoryDependencies } from '../services/observe-device';
import { EventsJsonlSink } from './events-jsonl-sink';

export interface LocalChangeFeed {
  /** DATA_DIR/events.jsonl */
  path: string;
  /** Resolves once every event so far is in the file (the feed stays open). */
  flush(): Promise<void>;
  /** Flushes every event line; call after the last archive write (requests and syncs drained). */
  close(): Promise<void>;
}

/**
 * `dataDir`: DATA_DIR, default ./.data; `webhookUrl`: EVENTS_WEBHOOK_URL (checked by the configuration).
 * dynalite has no streams, so on one machine the change events come from the write path: the shared
 * dependencies' store is wrapped once, before the first request, and every archive write made through
 * them (API, sync, callback-triggered sync) appends its event to DATA_DIR/events.jsonl.
 */
export function attachLocalChangeFeed(
  dependencies: HistoryDependencies,
  options: { dataDir?: string; webhookUrl?: string },
): LocalChangeFeed {
  if (dependencies.store instanceof ChangeEventEmittingStore) throw new Error('the change feed is already attached');
  const sink = new EventsJsonlSink({
    dataDir: resolve(options.dataDir ?? DEFAULT_DATA_DIR),
    webhookUrl: options.webhookUrl,
  });
  dependencies.store = new ChangeEventEmittingStore(dependencies.store, sink);
  return { path: sink.path, flush: () => sink.flush(), close: () => sink.close() };
}
