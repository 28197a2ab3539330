/**
 * How a ThingSpace call failed, in the terms the service decides on:
 * - `rejected`: ThingSpace answered with an application error (4xx, `{errorCode, errorMessage}`);
 *   the caller asked for something ThingSpace refuses, so the answer is passed through.
 * - `auth`: ThingSpace refused this service's own credentials (login refused, token refused after a
 *   renewal, or logins paused after a refusal to protect the user from the five-failure lockout).
 * - `unavailable`: 429, 5xx or network errors that outlasted the retries.
 * - `timeout`: every attempt timed out, or the deadline left no time for another.
 * - `malformed`: an answer that is not the documented JSON; it is never archived.
 * - `credentials`: this service could not read its own ThingSpace credentials (the secret); ThingSpace
 *   was not asked, so this is no refusal of the credentials.
 */
export type ThingSpaceFailure = 'rejected' | 'auth' | 'unavailable' | 'timeout' | 'malformed' | 'credentials';

export class ThingSpaceError extends Error {
  constructor(
    readonly failure: ThingSpaceFailure,
    message: string,
    readonly details: { status?: number; errorCode?: string; errorMessage?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ThingSpaceError';
  }
}

export function isThingSpaceError(error: unknown): error is ThingSpaceError {
  return error instanceof ThingSpaceError;
}
