/** What one HTTP request to ThingSpace produced, before any decision about it. */
export type Exchange =
  | { kind: 'answer'; status: number; retryAfter: string | null; text: string }
  | { kind: 'timeout' }
  | { kind: 'network' };

export type FetchFunction = typeof fetch;

export interface RequestInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
}

/**
 * Sends one request with its own timeout, covering the body too, and never follows a redirect, so the
 * Authorization and VZ-M2M-Token headers never travel to another host.
 */
export type SendRequest = (url: string, init: RequestInit, timeoutMs: number) => Promise<Exchange>;

/** SendRequest over a fetch function: how tests script ThingSpace without a server. */
export async function fetchExchange(
  fetchFunction: FetchFunction,
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<Exchange> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetchFunction(url, { ...init, redirect: 'manual', signal });
    const text = await response.text();
    return { kind: 'answer', status: response.status, retryAfter: response.headers.get('retry-after'), text };
  } catch (error) {
    const timedOut = signal.aborted || (error instanceof Error && error.name === 'TimeoutError');
    return timedOut ? { kind: 'timeout' } : { kind: 'network' };
  }
}

export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}
