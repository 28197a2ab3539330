import type { APIGatewayProxyResult } from 'aws-lambda';
import { credentialsUnavailableCause } from '../../adapters/thingspace/credentials';
import { ApiError, ErrorCode } from '../../domain/api-error';
import type { DeviceHistory } from '../../services/get-device-history';

/** Marks an answer served from the archive alone because ThingSpace could not be asked. */
export const STALE_HEADER = 'X-History-Stale';

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

/**
 * The ThingSpace client reports a secret it could not read as an `auth` failure, which would reach the
 * caller as UPSTREAM_AUTH_FAILED ("ThingSpace refused this service's credentials") although ThingSpace
 * was never asked. This names the real cause; the message says nothing about the secret itself.
 */
export function withCredentialsCause(error: unknown): unknown {
  if (!credentialsUnavailableCause(error)) return error;
  return new ApiError(
    502,
    ErrorCode.credentialsUnavailable,
    "This service could not read its ThingSpace credentials (the secret); ThingSpace was not called and nothing is archived for this device",
    { cause: error },
  );
}
