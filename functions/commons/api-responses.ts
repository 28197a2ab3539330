/**
 * The history route's answer: the records as ThingSpace returns them, marked when served from the archive
 * alone.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
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
