/**
 * What the ThingSpace client's parts share to make requests: the transport, the logger and the transient
 * failure met while authenticating.
 */
import type { SendRequest } from './exchange';

/**
 * Shaped so a Powertools Logger fits. Never given a token, a secret or a password: callers pass
 * status codes and error codes only.
 */
export interface ThingSpaceLogger {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export const silentLogger: ThingSpaceLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** What every request to ThingSpace needs, shared by the auth cache and the API calls. */
export interface Transport {
  baseUrl: string;
  send: SendRequest;
  timeoutMs: number;
  now: () => number;
  logger: ThingSpaceLogger;
}

/**
 * A failure worth retrying (429, 5xx, timeout, network) met while getting a token or a session; the
 * API call's retry loop handles it like the same failure of the call itself.
 */
export class TransientFailure extends Error {
  constructor(
    readonly timedOut: boolean,
    readonly status?: number,
    readonly retryAfter?: string | null,
  ) {
    super(timedOut ? 'timed out' : status ? `HTTP ${status}` : 'network error');
    this.name = 'TransientFailure';
  }
}
