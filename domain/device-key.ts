/**
 * The validation of the account and device id that name a device, wherever they come from (path, invoke
 * payload, queue message, callback).
 */
import { invalidParameter } from './failure';
import type { DeviceKey } from './upgrade-record';

/**
 * A ThingSpace account name: digits (leading zeros are significant), optionally a dash and a numeric
 * suffix, e.g. `0242078689-00001`. Bounded so that nothing oversized reaches ThingSpace or a key.
 */
export const ACCOUNT_PATTERN = /^[0-9]{1,20}(?:-[0-9]{1,10})?$/;
/** An IMEI (15 digits, 14 without its check digit, 16 for IMEISV). ASCII digits only. */
export const DEVICE_ID_PATTERN = /^[0-9]{14,16}$/;

export function parseAccount(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalidParameter('Invalid account name format: account is required');
  }
  if (!ACCOUNT_PATTERN.test(value)) {
    throw invalidParameter(
      'Invalid account name format: expected digits with an optional numeric suffix, e.g. 0242078689-00001',
    );
  }
  return value;
}

export function parseDeviceId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalidParameter('Invalid device id format: deviceId is required');
  }
  if (!DEVICE_ID_PATTERN.test(value)) {
    throw invalidParameter('Invalid device id format: expected an IMEI of 14 to 16 digits');
  }
  return value;
}

/** Validates untrusted input (path parameters, an invoke payload, a queue message) into a DeviceKey. */
export function parseDeviceKey(input: { account?: unknown; deviceId?: unknown } | null | undefined): DeviceKey {
  const source = input ?? {};
  return { account: parseAccount(source.account), deviceId: parseDeviceId(source.deviceId) };
}
