/**
 * Throttling retry that the store owns, because the SDK's own retries stop after a few attempts (and
 * are bypassed entirely when a test replaces `send`). It keeps trying until the caller's deadline.
 */

const RETRYABLE_ERROR_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
]);

function isRetryableError(error: unknown): boolean {
  return error instanceof Error && RETRYABLE_ERROR_NAMES.has(error.name);
}

/**
 * DynamoDB refused the request itself (an item over 400 KB, a key over its size limit, ...): the same
 * request fails the same way every time, so it is neither retried nor a sign the store is down.
 */
export function isPermanentRequestError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationException';
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

export interface RetryPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  random: () => number;
}

/**
 * Runs `operation` until it succeeds, it fails with a non-retryable error, or the next backoff would end
 * past `deadline` (epoch ms); then the last error is rethrown unchanged so callers can still classify it.
 * Backoff is exponential with full jitter, so throttled Lambdas spread out instead of retrying in step.
 */
export async function retryThrottled<T>(
  operation: () => Promise<T>,
  deadline: number,
  policy: RetryPolicy,
): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await operation();
    } catch (error) {
      if (!isRetryableError(error)) throw error;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt, 30));
      const delay = Math.round(policy.random() * ceiling);
      if (policy.now() + delay >= deadline) throw error;
      await policy.sleep(delay);
    }
  }
}

/** Maps with at most `limit` operations in flight; results keep the input order. */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  mapper: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    // After one failure the others stop taking new items: the caller is about to see the error anyway.
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await mapper(items[index] as T);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}
