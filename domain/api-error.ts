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
} as const;

export class ApiError extends Error {
  /** Safe to show the caller: every message here is written for them and holds no secret. */
  readonly expose = true;

  constructor(
    readonly statusCode: number,
    readonly errorCode: string,
    readonly errorMessage: string,
    options?: { cause?: unknown },
  ) {
    // The message is the response body itself, so HTTP error middleware can answer with it as is.
    super(JSON.stringify({ errorCode, errorMessage }), options);
    this.name = 'ApiError';
  }

  get body(): ErrorBody {
    return { errorCode: this.errorCode, errorMessage: this.errorMessage };
  }

  static invalidParameter(message: string): ApiError {
    return new ApiError(400, ErrorCode.invalidParameter, message);
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}
