/**
 * One machine's change feed: every event one JSON object per line, appended to DATA_DIR/events.jsonl, and
 * optionally POSTed to a webhook.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import pLimit from 'p-limit';
import type { ChangeEventSink } from '../adapters/events/change-event-emitting-store';
import { retryUntil } from '../adapters/retry';
import type { ChangeEvent } from '../domain/change-event';

const EVENTS_FILE = 'events.jsonl';
const WEBHOOK_ATTEMPTS = 3;
const WEBHOOK_TIMEOUT_MS = 5_000;
const WEBHOOK_CONCURRENCY = 4;
/** Posts arriving while this many wait are dropped (and counted): a dead webhook must not grow memory. */
const WEBHOOK_MAX_PENDING = 1_000;
/** How long close() waits for webhook posts still in flight. */
const WEBHOOK_CLOSE_WAIT_MS = 5_000;

export interface EventsJsonlSinkOptions {
  /** DATA_DIR; the file is DATA_DIR/events.jsonl. */
  dataDir: string;
  /** EVENTS_WEBHOOK_URL: each event is also POSTed there, best effort. */
  webhookUrl?: string;
  /** Where a failure to write or post is reported (one line, no event body). */
  warn?: (message: string) => void;
  retryBaseMs?: number;
}

/**
 * The webhook never holds up a request: posts run in the background,
 * a few at a time, with bounded retries; the file is the record.
 *
 * Each line is appended synchronously, in one write(2) on an O_APPEND descriptor, before emit() returns:
 * a buffered stream would lose the lines still in its buffer when the process ends on a signal it does
 * not handle (Ctrl-C of `npm run sync`) or on process.exit(), and two writers of the same file (npm start
 * and npm run sync on one DATA_DIR) would be free to split a line between writes. A line is a few KB at
 * most, so the write costs microseconds.
 */
export class EventsJsonlSink implements ChangeEventSink {
  readonly path: string;
  private fd: number | undefined;
  private readonly warn: (message: string) => void;
  private readonly limit = pLimit(WEBHOOK_CONCURRENCY);
  /** Posts queued or in flight. */
  private readonly posting = new Set<Promise<void>>();
  private dropped = 0;
  private closed = false;
  private writeError: Error | undefined;

  constructor(private readonly options: EventsJsonlSinkOptions) {
    this.path = join(resolve(options.dataDir), EVENTS_FILE);
    mkdirSync(dirname(this.path), { recursive: true });
    this.warn = options.warn ?? ((message) => process.stderr.write(`events: ${message}\n`));
    this.fd = openSync(this.path, 'a');
  }

  emit(event: ChangeEvent): void {
    if (this.closed) {
      this.warn(`event ${event.detail.eventId} arrived after the feed was closed`);
      return;
    }
    this.append(Buffer.from(`${JSON.stringify(event)}\n`, 'utf8'), event.detail.eventId);
    if (this.options.webhookUrl) this.queuePost(event);
  }

  /** Every line emitted so far is already in the file (emit appends synchronously); kept for callers. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  private append(line: Buffer, eventId: string): void {
    if (this.fd === undefined) return;
    try {
      // A regular file takes the whole line in one write unless the disk is full; a short write is
      // finished rather than left as half a line.
      for (let offset = 0; offset < line.length; ) offset += writeSync(this.fd, line, offset);
    } catch (error) {
      // The write is archived already: the first failure is reported (by event id), later ones are tried.
      if (!this.writeError) this.warn(`cannot append event ${eventId} to ${this.path}: ${(error as Error).message}`);
      this.writeError = error as Error;
    }
  }

  /** Flushes every line to disk and gives webhook posts in flight a few seconds to finish. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    if (this.posting.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.idle(),
        new Promise<void>((resolveWait) => {
          timer = setTimeout(resolveWait, WEBHOOK_CLOSE_WAIT_MS);
        }),
      ]);
      clearTimeout(timer);
      const notSent = this.limit.pendingCount;
      this.limit.clearQueue();
      if (notSent > 0) this.warn(`${notSent} webhook post(s) not sent before stopping`);
    }
    if (this.dropped > 0) this.warn(`${this.dropped} webhook post(s) dropped while the webhook lagged`);
  }

  private async idle(): Promise<void> {
    while (this.posting.size > 0) await Promise.allSettled([...this.posting]);
  }

  private queuePost(event: ChangeEvent): void {
    if (this.limit.pendingCount >= WEBHOOK_MAX_PENDING) {
      this.dropped += 1;
      return;
    }
    const post = this.limit(() => this.post(event)).finally(() => this.posting.delete(post));
    this.posting.add(post);
  }

  private async post(event: ChangeEvent): Promise<void> {
    const backoff = {
      baseMs: this.options.retryBaseMs ?? 200,
      capMs: Number.POSITIVE_INFINITY,
      jitter: 'none',
    } as const;
    const settled = await retryUntil({ backoff, maxAttempts: WEBHOOK_ATTEMPTS }, async () => {
      try {
        const response = await fetch(this.options.webhookUrl!, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(event),
          signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
        });
        await response.body?.cancel();
        if (response.ok) return true;
        // A 4xx other than 429 will not change on a retry.
        if (response.status < 500 && response.status !== 429) {
          this.warn(`webhook refused event ${event.detail.eventId} with HTTP ${response.status}`);
          return true;
        }
      } catch {
        // Network error or timeout: retried.
      }
      return false;
    });
    if (!settled) this.warn(`webhook did not accept event ${event.detail.eventId} after ${WEBHOOK_ATTEMPTS} attempts`);
  }
}
