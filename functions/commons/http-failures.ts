/** Failures as HTTP answers, for the API Gateway handlers and npm start. */
import { type ErrorBody, isFailureError } from '../../domain/failure';
import { failureAnswer, UNFORESEEN } from './failure-table';

/**
 * A failure as an HTTP answer, in the shape @middy/http-error-handler answers with: `statusCode`, and a
 * `message` that is the body itself (`expose`: every message in the failure table is written for the
 * caller and holds no secret).
 */
export class ApiError extends Error {
  readonly expose = true;

  constructor(
    readonly statusCode: number,
    readonly errorCode: string,
    readonly errorMessage: string,
    options?: { cause?: unknown },
  ) {
    super(JSON.stringify({ errorCode, errorMessage }), options);
    this.name = 'ApiError';
  }

  get body(): ErrorBody {
    return { errorCode: this.errorCode, errorMessage: this.errorMessage };
  }
}

/**
 * The HTTP answer for a thrown error: a domain failure by the failure table (keeping what caused it, for
 * the error log), anything else undefined (the caller answers it as unforeseen).
 */
export function apiErrorOf(error: unknown): ApiError | undefined {
  if (!isFailureError(error)) return undefined;
  const answer = failureAnswer(error.failure);
  const options = error.cause === undefined ? undefined : { cause: error.cause };
  return new ApiError(answer.statusCode, answer.errorCode, answer.errorMessage, options);
}

/** What a caller sees for a failure nobody foresaw: ThingSpace's error shape, no stack trace. */
export const INTERNAL_ERROR_BODY = JSON.stringify({
  errorCode: UNFORESEEN.errorCode,
  errorMessage: UNFORESEEN.message,
} satisfies ErrorBody);
