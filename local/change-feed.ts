import { ChangeEventEmittingStore } from '../adapters/events/change-event-emitting-store';
import type { HistoryDependencies } from '../services/observe-device';
import { EventsJsonlSink, eventsDataDir } from './events-jsonl-sink';

export interface LocalChangeFeed {
  /** DATA_DIR/events.jsonl */
  path: string;
  /** Resolves once every event so far is in the file (the feed stays open). */
  flush(): Promise<void>;
  /** Flushes every event line; call after the last archive write (requests and syncs drained). */
  close(): Promise<void>;
}

/**
 * dynalite has no streams, so on one machine the change events come from the write path: the shared
 * dependencies' store is wrapped once, before the first request, and every archive write made through
 * them (API, sync, callback-triggered sync) appends its event to DATA_DIR/events.jsonl.
 */
export function attachLocalChangeFeed(
  dependencies: HistoryDependencies,
  env: NodeJS.ProcessEnv = process.env,
): LocalChangeFeed {
  const webhookUrl = env.EVENTS_WEBHOOK_URL || undefined;
  if (webhookUrl && !/^https?:$/.test(safeProtocol(webhookUrl))) {
    throw new Error('EVENTS_WEBHOOK_URL must be an http(s) URL');
  }
  if (dependencies.store instanceof ChangeEventEmittingStore) throw new Error('the change feed is already attached');
  const sink = new EventsJsonlSink({ dataDir: eventsDataDir(env), webhookUrl });
  dependencies.store = new ChangeEventEmittingStore(dependencies.store, sink);
  return { path: sink.path, flush: () => sink.flush(), close: () => sink.close() };
}

function safeProtocol(url: string): string {
  try {
    return new URL(url).protocol;
  } catch {
    return '';
  }
}
