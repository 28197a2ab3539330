/** What an SQS worker does with a failed message, by the failure table's sync column. */
import { type ErrorBody, failureCode, isFailureError } from '../../domain/failure';
import { FAILURE_TABLE, UNFORESEEN } from './failure-table';

export type SyncDisposition =
  /** It would fail the same way again: to the dead-letter queue, with this reason as its attributes. */
  | { action: 'dead-letter'; reason: ErrorBody }
  /** Back to the queue, to be tried again later; `errorCode` names the failure in the log line. */
  | { action: 'retry'; errorCode: string };

/** The log line's code for an error nobody foresaw (nothing says it would fail again, so it is retried). */
const UNEXPECTED = 'UNEXPECTED';

export function syncDisposition(error: unknown): SyncDisposition {
  if (!isFailureError(error)) return { action: UNFORESEEN.sync, errorCode: UNEXPECTED };
  const errorCode = failureCode(error.failure);
  if (FAILURE_TABLE[error.failure.kind].sync === 'dead-letter') {
    return { action: 'dead-letter', reason: { errorCode, errorMessage: error.message } };
  }
  return { action: 'retry', errorCode };
}
