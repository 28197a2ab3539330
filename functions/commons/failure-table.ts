/**
 * The one table of what each failure becomes: the HTTP answer (API Gateway handlers and npm start), the
 * direct- invoke error and the SQS workers' disposition.
 */
import { ErrorCode, type Failure, type FailureKind, failureCode } from '../../domain/failure';

/** What an SQS worker does with a message whose work failed: try again later, or park it for good. */
type SyncAction = 'retry' | 'dead-letter';

/** One failure kind at every edge; its errorCode is the failure's own (domain/failure.ts). */
interface FailureRow<F extends Failure = Failure> {
  /** The HTTP status, or how it is chosen when it depends on the failure. */
  status: number | ((failure: F) => number);
  /** The errorMessage callers see (the HTTP body, the direct-invoke error's message). */
  message: string | ((failure: F) => string);
  sync: SyncAction;
}

type FailureTable = { [K in FailureKind]: FailureRow<Extract<Failure, { kind: K }>> };

/**
 * The direct-invoke error is named by the errorCode, with the HTTP answer's message and status. A refusal
 * fails the same way every time, so its message is dead-lettered; anything unavailable is retried. The
 * README's error table documents this one (test/unit/failure-table.test.ts).
 */
export const FAILURE_TABLE: FailureTable = {
  'invalid-parameter': { status: 400, message: (failure) => failure.message, sync: 'dead-letter' },
  'upstream-rejected': {
    // ThingSpace's own 4xx passes through; anything else it called a refusal becomes a plain 400.
    status: ({ status = 400 }) => (status >= 400 && status < 500 ? status : 400),
    message: (failure) => failure.errorMessage ?? 'ThingSpace rejected the request',
    sync: 'dead-letter',
  },
  'callback-not-configured': { status: 404, message: 'No callback listener is configured', sync: 'dead-letter' },
  'callback-unauthorized': {
    status: 401,
    message: 'The callback credentials are missing or wrong',
    sync: 'dead-letter',
  },
  'callback-too-large': {
    status: 413,
    message: (failure) => `The callback body exceeds ${failure.limitBytes} bytes`,
    sync: 'dead-letter',
  },
  'upstream-unavailable': {
    status: 502,
    message: 'ThingSpace is unavailable and nothing is archived for this device',
    sync: 'retry',
  },
  'upstream-malformed': {
    status: 502,
    message: 'ThingSpace answered with malformed data and nothing is archived for this device',
    sync: 'retry',
  },
  'upstream-auth-refused': {
    status: 502,
    message: "ThingSpace refused this service's credentials and nothing is archived for this device",
    sync: 'retry',
  },
  'credentials-unavailable': {
    status: 502,
    message:
      'This service could not read its ThingSpace credentials (the secret); ThingSpace was not called and nothing is archived for this device',
    sync: 'retry',
  },
  'archive-unavailable': { status: 503, message: 'The history archive is unavailable; retry later', sync: 'retry' },
  'upstream-timeout': {
    status: 504,
    message: 'ThingSpace did not answer in time and nothing is archived for this device',
    sync: 'retry',
  },
};

/** Anything nobody foresaw: answered without detail (no stack trace), logged as an error, retried by workers. */
export const UNFORESEEN = {
  status: 500,
  errorCode: ErrorCode.internalError,
  message: 'The service failed to answer; retry later',
  sync: 'retry',
} as const;

export interface FailureAnswer {
  statusCode: number;
  errorCode: string;
  errorMessage: string;
}

/** A failure's row applied to it: the status, errorCode and message every caller-facing edge answers with. */
export function failureAnswer(failure: Failure): FailureAnswer {
  const row = FAILURE_TABLE[failure.kind] as FailureRow;
  return {
    statusCode: typeof row.status === 'function' ? row.status(failure) : row.status,
    errorCode: failureCode(failure),
    errorMessage: typeof row.message === 'function' ? row.message(failure) : row.message,
  };
}
