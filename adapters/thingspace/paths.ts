/** The ThingSpace paths the client calls, with values encoded so that none can send a request elsewhere. */
import { ThingSpaceError } from '../../domain/thingspace-error';

/**
 * One path segment, percent-encoded. A `.` or `..` segment is refused rather than encoded: URL parsing
 * (fetch included) resolves even `%2E%2E` as a parent step, which would send the request elsewhere.
 */
function pathSegment(value: string, name: string): string {
  if (value.length === 0 || value === '.' || value === '..') {
    throw new ThingSpaceError('rejected', `${name} is not a valid path segment`, {
      errorCode: 'INVALID_PARAMETER',
      errorMessage: `Invalid ${name}`,
    });
  }
  return encodeURIComponent(value);
}

export const TOKEN_PATH = '/api/ts/v1/oauth2/token';
export const LOGIN_PATH = '/api/m2m/v1/session/login';

export function historyPath(account: string, deviceId: string): string {
  return `/api/fota/v1/reports/${pathSegment(account, 'account')}/devices/${pathSegment(deviceId, 'deviceId')}`;
}

export function deviceListPath(account: string, startIndex: string): string {
  return `/api/fota/v1/devices/${pathSegment(account, 'account')}/index/${pathSegment(startIndex, 'startIndex')}`;
}

export function callbacksPath(account: string): string {
  return `/api/fota/v1/callbacks/${pathSegment(account, 'account')}`;
}

export function joinUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${path}`;
}
