/**
 * The one backoff formula and the one retry loop every adapter uses. Random source, clock and sleep are
 * injectable, so a test decides the jitter instead of sampling Math.random.
 */

export type Sleep = (ms: number) => Promise<void>;

export const sleep: Sleep = (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * An exponentially growing ceiling, `baseMs` after the first failure and doubling up to `capMs`, and
 * how the wait is drawn under it:
 * - 'full' (the default): anywhere from 0 to the ceiling, so many callers retrying at once spread out;
 * - 'equal': the upper half of the ceiling, for a wait that must not come back early (a queued message
 *   has few receives before the redrive policy dead-letters it);
 * - 'none': the ceiling itself, for a pause that is a rule rather than a spread (the login guard's).
 */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  jitter?: 'full' | 'equal' | 'none';
}

/** The wait after the `failures`-th failure in a row (1 for the first), in whole milliseconds. */
export function backoff(failures: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(0, failures - 1), 52));
  switch (policy.jitter ?? 'full') {
    case 'none':
      return ceiling;
    case 'equal':
      return Math.floor(ceiling / 2 + (random() * ceiling) / 2);
    case 'full':
      return Math.floor(random() * ceiling);
  }
}

export interface RetryOptions {
  backoff: BackoffPolicy;
  /** Attempts in all, the first included; unbounded by default (the deadline then ends the loop). */
  maxAttempts?: number;
  /** Epoch ms: no wait is started that would end at or past it. */
  deadline?: number;
  random?: () => number;
  now?: () => number;
  sleep?: Sleep;
}

/**
 * Calls `attempt` (with 1, 2, ...) until it reports done (true), waiting `backoff` between attempts.
 * Resolves false, without waiting, once attempts run out or the next wait would not end before the
 * deadline, so a caller is never held past its deadline by a sleep. An attempt that throws ends the
 * loop with its error: the attempt decides what is worth another try.
 */
export async function retryUntil(options: RetryOptions, attempt: (attemptNumber: number) => Promise<boolean>) {
  const now = options.now ?? Date.now;
  const wait = options.sleep ?? sleep;
  const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
  for (let attemptNumber = 1; ; attemptNumber += 1) {
    if (await attempt(attemptNumber)) return true;
    if (attemptNumber >= maxAttempts) return false;
    const delayMs = backoff(attemptNumber, options.backoff, options.random);
    if (options.deadline !== undefined && now() + delayMs >= options.deadline) return false;
    await wait(delayMs);
  }
}
