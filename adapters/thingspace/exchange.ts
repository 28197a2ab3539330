import { isUtf8 } from 'node:buffer';

/**
 * What one HTTP request to ThingSpace produced, before any decision about it. An answer whose body
 * outgrew the limit has `bodyTooLarge` and an empty text (the rest was never read); `invalidUtf8` says
 * the body was not valid UTF-8, so the text holds U+FFFD where the invalid bytes were.
 */
export type Exchange =
  | { kind: 'answer'; status: number; retryAfter: string | null; text: string; bodyTooLarge?: true; invalidUtf8?: true }
  | { kind: 'timeout' }
  | { kind: 'network' };

export type FetchFunction = typeof fetch;

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

/** The text of a body that was read whole, flagged when it was not valid UTF-8. */
export function decodeBody(body: Buffer): { text: string; invalidUtf8?: true } {
  const text = body.toString('utf8');
  return isUtf8(body) ? { text } : { text, invalidUtf8: true };
}

async function readLimited(response: Response, maxBodyBytes: number): Promise<Buffer | undefined> {
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks);
    size += value.byteLength;
    if (size > maxBodyBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
}

/** SendRequest over a fetch function: how tests script ThingSpace without a server. */
export async function fetchExchange(
  fetchFunction: FetchFunction,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
): Promise<Exchange> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetchFunction(url, { ...init, redirect: 'manual', signal });
    const answer = {
      kind: 'answer' as const,
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
    };
    const body = await readLimited(response, maxBodyBytes);
    return body === undefined ? { ...answer, text: '', bodyTooLarge: true } : { ...answer, ...decodeBody(body) };
  } catch (error) {
    const timedOut = signal.aborted || (error instanceof Error && error.name === 'TimeoutError');
    return timedOut ? { kind: 'timeout' } : { kind: 'network' };
  }
}

export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}
