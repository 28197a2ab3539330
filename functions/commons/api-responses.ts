import type { APIGatewayProxyResult } from 'aws-lambda';
import { ErrorCode } from '../../domain/api-error';
import type { DeviceHistory } from '../../services/get-device-history';

/** Marks an answer served from the archive alone because ThingSpace could not be asked. */
const STALE_HEADER = 'X-History-Stale';

export function historyResponse(history: DeviceHistory): APIGatewayProxyResult {
  return {
    statusCode: 200,
    headers: {
      'Content-Type': 'application/json',
      ...(history.stale ? { [STALE_HEADER]: 'true' } : {}),
    },
    body: JSON.stringify(history.records),
  };
}

/** What a caller sees for a failure nobody foresaw: ThingSpace's error shape, no stack trace. */
export const INTERNAL_ERROR_BODY = JSON.stringify({
  errorCode: ErrorCode.internalError,
  errorMessage: 'The service failed to answer; retry later',
});
