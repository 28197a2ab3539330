/** Failures as errors of the direct invocation (functions/get-history-invoke.ts). */
import { UNFORESEEN } from './failure-table';
import { apiErrorOf } from './http-failures';

/**
 * A failure of a direct invocation. Its name is the errorCode, so a Step Functions Catch or Retry can
 * match on it (`"ErrorEquals": ["INVALID_PARAMETER"]`), and it carries no stack trace.
 */
export class HistoryInvokeError extends Error {
  constructor(
    readonly errorCode: string,
    readonly errorMessage: string,
    readonly statusCode: number,
  ) {
    super(errorMessage);
    this.name = errorCode;
    this.stack = `${errorCode}: ${errorMessage}`;
  }
}

/**
 * The direct-invoke error for a thrown error: the failure table's answer (errorCode, message and status)
 * as the error, and what to log as an error when the service rather than the caller is at fault.
 */
export function invokeFailure(error: unknown): { thrown: HistoryInvokeError; logged?: Error } {
  const answer = apiErrorOf(error);
  if (!answer) {
    return {
      thrown: new HistoryInvokeError(UNFORESEEN.errorCode, UNFORESEEN.message, UNFORESEEN.status),
      logged: error as Error,
    };
  }
  const thrown = new HistoryInvokeError(answer.errorCode, answer.errorMessage, answer.statusCode);
  return answer.statusCode >= 500 ? { thrown, logged: answer } : { thrown };
}
