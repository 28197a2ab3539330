/**
 * What one HTTP request to ThingSpace produced, before any decision about it. An answer whose body
 * outgrew the limit has `bodyTooLarge` and an empty text (the rest was never read); `invalidUtf8` says
 * the body was not valid UTF-8, so the text holds U+FFFD where the invalid bytes were.
 */
export type Exchange =
  | { kind: 'answer'; status: number; retryAfter: string | null; text: string; bodyTooLarge?: true; invalidUtf8?: true }
  | { kind: 'timeout' }
  | { kind: 'network' };

export interface RequestInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
}

/** Larger than any history ThingSpace sends (10,000 records are about 3 MB), far below a Lambda's memory. */
export const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;

/**
 * Sends one request with its own timeout, covering the body too, and never follows a redirect, so the
 * Authorization and VZ-M2M-Token headers never travel to another host. Reads at most the configured
 * number of body bytes.
 */
export type SendRequest = (url: string, init: RequestInit, timeoutMs: number) => Promise<Exchange>;

export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}
