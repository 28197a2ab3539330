/**
 * A queue message body validated with the same rules as the API: JSON, then `parse` (which throws an
 * invalid- parameter failure for bad fields).
 */
import { type ErrorBody, ErrorCode } from '../../domain/failure';
import { syncDisposition } from './sync-failures';

/** Returns the value, or the ThingSpace-shaped reason it was refused. */
export function parseMessage<T>(
  body: string,
  parse: (payload: Record<string, unknown>) => T,
): { value: T } | { refused: ErrorBody } {
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch {
    return { refused: { errorCode: ErrorCode.invalidParameter, errorMessage: 'Message body is not JSON' } };
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return { refused: { errorCode: ErrorCode.invalidParameter, errorMessage: 'Message body is not a JSON object' } };
  }
  try {
    return { value: parse(payload as Record<string, unknown>) };
  } catch (error) {
    const disposition = syncDisposition(error);
    if (disposition.action === 'dead-letter') return { refused: disposition.reason };
    throw error;
  }
}
