/** What one HTTP request to ThingSpace produced, before any decision about it. */
export type Exchange =
  | { kind: 'answer'; status: number; retryAfter: string | null; text: string }
  | { kind: 'timeout' }
  | { kind: 'network' };

export type FetchFunction = typeof fetch;

/**
 * Sends one request with its own timeout, covering the body too. Redirects are not followed, so the
 * Authorization and VZ-M2M-Token headers never travel to another host.
 */
export async function exchange(
  fetchFunction: FetchFunction,
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
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
