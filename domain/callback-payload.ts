/**
 * What the service reads from a ThingSpace FOTA callback's body: its size limit, its credentials and the
 * devices it names.
 */
import { parseDeviceKey } from './device-key';
import { invalidParameter } from './failure';
import type { DeviceKey } from './upgrade-record';

/** The largest callback body accepted (API Gateway would pass up to 10 MB). */
export const CALLBACK_BODY_LIMIT_BYTES = 256 * 1024;

export interface CallbackCredentials {
  username: string;
  password: string;
}

export type ParsedCallbackBody = { ok: true; value: Record<string, unknown> } | { ok: false };

/** The body as a JSON object, or not one (malformed JSON, an array, a number...). */
export function parseCallbackBody(text: string): ParsedCallbackBody {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return { ok: true, value: value as Record<string, unknown> };
    }
  } catch {
    // Reported as not an object below.
  }
  return { ok: false };
}

export function bodyCredentials(body: Record<string, unknown>): CallbackCredentials | undefined {
  const { username, password } = body;
  return typeof username === 'string' && typeof password === 'string' ? { username, password } : undefined;
}

/**
 * The devices a ThingSpace FOTA callback names: `accountName` with `deviceId`, and/or
 * `deviceList[].deviceId` (an entry's own `accountName` wins over the top-level one). The rest of the
 * body (statuses, firmware) is unconfirmed and never used: the devices are synced from ThingSpace's own
 * history. Any device key that is not valid refuses the whole callback, so nothing half-valid is queued.
 */
export function devicesNamedBy(body: Record<string, unknown>): DeviceKey[] {
  const named: Array<{ account?: unknown; deviceId?: unknown }> = [];
  if (body.deviceId !== undefined) named.push({ account: body.accountName, deviceId: body.deviceId });
  if (body.deviceList !== undefined) {
    if (!Array.isArray(body.deviceList)) throw invalidParameter('deviceList must be an array');
    for (const entry of body.deviceList) {
      if (typeof entry !== 'object' || entry === null) throw invalidParameter('deviceList entries must be objects');
      const item = entry as Record<string, unknown>;
      named.push({ account: item.accountName ?? body.accountName, deviceId: item.deviceId });
    }
  }
  if (named.length === 0) {
    throw invalidParameter(
      'The callback names no device: expected accountName with deviceId, or deviceList[].deviceId',
    );
  }
  const devices = new Map<string, DeviceKey>();
  for (const candidate of named) {
    const device = parseDeviceKey(candidate);
    devices.set(`${device.account}#${device.deviceId}`, device);
  }
  return [...devices.values()];
}
