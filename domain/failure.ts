/** What can go wrong, in the service's own terms: no HTTP status, no retry policy. */
import type { ThingSpaceError, ThingSpaceFailure } from './thingspace-error';

/**
 * The edges translate a failure into what their caller understands (functions/commons/failure-table.ts:
 * an HTTP answer, a direct-invoke error, a sync disposition). Its errorCode is the service's name for it
 * everywhere: in answers, in the archive's sync state and on dead-lettered messages.
 */
export type Failure =
  /** A request, message or query refused by the service's own rules; ThingSpace is not asked. */
  | { kind: 'invalid-parameter'; message: string }
  /** The archive could not be read or written, or its token key could not be read. */
  | { kind: 'archive-unavailable' }
  /** ThingSpace refused the request itself: its own status, code and message pass through. */
  | { kind: 'upstream-rejected'; status?: number; errorCode?: string; errorMessage?: string }
  | { [K in UpstreamFailureKind]: { kind: K } }[UpstreamFailureKind]
  /** The callback listener's refusals: none configured, wrong credentials, a body over the limit. */
  | { kind: 'callback-not-configured' }
  | { kind: 'callback-unauthorized' }
  | { kind: 'callback-too-large'; limitBytes: number };

/**
 * ThingSpace could not be asked, or its answer not used: down (5xx, network, after the retries), not
 * the documented JSON, too slow, or refusing this service's credentials; or this service could not
 * read its own ThingSpace credentials (ThingSpace was not asked).
 */
type UpstreamFailureKind =
  | 'upstream-unavailable'
  | 'upstream-malformed'
  | 'upstream-timeout'
  | 'upstream-auth-refused'
  | 'credentials-unavailable';

export type FailureKind = Failure['kind'];

/**
 * Every error this service answers with, in ThingSpace's own error shape `{errorCode, errorMessage}`,
 * so callers handle ThingSpace and this service with the same code.
 */
export interface ErrorBody {
  errorCode: string;
  errorMessage: string;
}

export const ErrorCode = {
  invalidParameter: 'INVALID_PARAMETER',
  upstreamUnavailable: 'UPSTREAM_UNAVAILABLE',
  upstreamTimeout: 'UPSTREAM_TIMEOUT',
  upstreamAuthFailed: 'UPSTREAM_AUTH_FAILED',
  /** This service could not read its own ThingSpace credentials (the secret); ThingSpace was not asked. */
  credentialsUnavailable: 'CREDENTIALS_UNAVAILABLE',
  archiveUnavailable: 'ARCHIVE_UNAVAILABLE',
  internalError: 'INTERNAL_ERROR',
  notFound: 'NOT_FOUND',
  unauthorized: 'UNAUTHORIZED',
  payloadTooLarge: 'PAYLOAD_TOO_LARGE',
} as const;

/** Each failure's errorCode; ThingSpace's refusals keep their own (the persisted sync state shows them too). */
const FAILURE_CODES: { [K in Exclude<FailureKind, 'upstream-rejected'>]: string } = {
  'invalid-parameter': ErrorCode.invalidParameter,
  'archive-unavailable': ErrorCode.archiveUnavailable,
  'upstream-unavailable': ErrorCode.upstreamUnavailable,
  'upstream-malformed': ErrorCode.upstreamUnavailable,
  'upstream-timeout': ErrorCode.upstreamTimeout,
  'upstream-auth-refused': ErrorCode.upstreamAuthFailed,
  'credentials-unavailable': ErrorCode.credentialsUnavailable,
  'callback-not-configured': ErrorCode.notFound,
  'callback-unauthorized': ErrorCode.unauthorized,
  'callback-too-large': ErrorCode.payloadTooLarge,
};

export function failureCode(failure: Failure): string {
  if (failure.kind === 'upstream-rejected') return failure.errorCode ?? `UPSTREAM_HTTP_${failure.status ?? 400}`;
  return FAILURE_CODES[failure.kind];
}

const UPSTREAM_FAILURES: { [K in Exclude<ThingSpaceFailure, 'rejected'>]: UpstreamFailureKind } = {
  unavailable: 'upstream-unavailable',
  malformed: 'upstream-malformed',
  timeout: 'upstream-timeout',
  auth: 'upstream-auth-refused',
  credentials: 'credentials-unavailable',
};

/** A failed ThingSpace call in the service's terms. */
export function upstreamFailure(error: ThingSpaceError): Failure {
  if (error.failure !== 'rejected') return { kind: UPSTREAM_FAILURES[error.failure] };
  const { status, errorCode, errorMessage } = error.details;
  return { kind: 'upstream-rejected', status, errorCode, errorMessage };
}

/** A failure thrown through the layers; the edge that catches it decides what its caller sees. */
export class FailureError extends Error {
  constructor(
    readonly failure: Failure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FailureError';
  }
}

export function isFailureError(error: unknown): error is FailureError {
  return error instanceof FailureError;
}

/** The caller's input breaks the service's rules; the message says which rule, for the caller. */
export function invalidParameter(message: string): FailureError {
  return new FailureError({ kind: 'invalid-parameter', message }, message);
}
