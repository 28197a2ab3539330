/**
 * What a record from ThingSpace must be before it is served or archived. A record that fails is dropped
 * alone and counted; the others are kept.
 */
import * as z from 'zod/mini';
import { ACCOUNT_PATTERN, DEVICE_ID_PATTERN } from './device-key';
import { type DeviceKey, toUpgradeRecord, UPGRADE_RECORD_FIELDS, type UpgradeRecord } from './upgrade-record';

/** The bounds keep every archived item far below DynamoDB's 400 KB, whatever ThingSpace sends. */
export const RECORD_LIMITS = {
  /** An upgrade id: a UUID in practice; any short token of these characters is accepted. */
  id: /^[A-Za-z0-9._:-]{1,64}$/,
  statusLength: 64,
  firmwareLength: 128,
  reasonLength: 1024,
  /** YYYY-MM-DD. */
  startDate: /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/,
  /** Empty (not started yet, as documented) or an ISO-like timestamp: a date, then a time part. */
  upgradeStartTime: /^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9A-Za-z:.,+ -]{1,29})?)?$/,
  upgradeStartTimeLength: 40,
} as const;

/**
 * Why a record was dropped:
 * - `other-device`: its deviceId or accountName is not the requested device's;
 * - `missing-field`: a field is absent, null or not a string (only upgradeStartTime may be absent or null,
 *   read as empty), or the record is not an object;
 * - `invalid-field`: a field breaks its format or length bound;
 * - `invalid-text`: a field holds text that is not valid Unicode: bytes that were not valid UTF-8, or an
 *   unpaired surrogate from a JSON escape.
 */
type DropReason = 'other-device' | 'missing-field' | 'invalid-field' | 'invalid-text';

export type DropCounts = Partial<Record<DropReason, number>>;

export interface ScreenedRecords {
  records: UpgradeRecord[];
  dropped: DropCounts;
}

export interface ScreenOptions {
  /**
   * The body was not valid UTF-8, so its decoder replaced the invalid bytes with U+FFFD: every record
   * holding a U+FFFD is dropped (in a valid body, a U+FFFD is a real character and is kept).
   */
  invalidUtf8?: boolean;
}

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const REPLACEMENT_CHARACTER = '\uFFFD';

const upgradeRecordSchema = z.object({
  deviceId: z.string().check(z.regex(DEVICE_ID_PATTERN)),
  id: z.string().check(z.regex(RECORD_LIMITS.id)),
  accountName: z.string().check(z.regex(ACCOUNT_PATTERN)),
  firmwareFrom: z.string().check(z.maxLength(RECORD_LIMITS.firmwareLength)),
  firmwareTo: z.string().check(z.maxLength(RECORD_LIMITS.firmwareLength)),
  startDate: z.string().check(z.regex(RECORD_LIMITS.startDate)),
  upgradeStartTime: z.pipe(
    z.pipe(
      z.nullish(z.string()),
      z.transform((value: string | null | undefined) => value ?? ''),
    ),
    z.string().check(z.maxLength(RECORD_LIMITS.upgradeStartTimeLength), z.regex(RECORD_LIMITS.upgradeStartTime)),
  ),
  status: z.string().check(z.minLength(1), z.maxLength(RECORD_LIMITS.statusLength)),
  reason: z.string().check(z.maxLength(RECORD_LIMITS.reasonLength)),
});

function isRecordObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function holdsInvalidText(record: Record<string, unknown>, invalidUtf8: boolean): boolean {
  return UPGRADE_RECORD_FIELDS.some((field) => {
    const value = record[field];
    if (typeof value !== 'string') return false;
    return UNPAIRED_SURROGATE.test(value) || (invalidUtf8 && value.includes(REPLACEMENT_CHARACTER));
  });
}

type Screened = { record: UpgradeRecord; reason?: undefined } | { reason: DropReason };

/** The record as served and archived, or why it must be dropped. */
export function screenUpgradeRecord(value: unknown, device: DeviceKey, options: ScreenOptions = {}): Screened {
  if (!isRecordObject(value)) return { reason: 'missing-field' };
  const { deviceId, accountName } = value;
  if (
    (typeof deviceId === 'string' && deviceId !== device.deviceId) ||
    (typeof accountName === 'string' && accountName !== device.account)
  ) {
    return { reason: 'other-device' };
  }
  if (holdsInvalidText(value, options.invalidUtf8 ?? false)) return { reason: 'invalid-text' };
  const result = upgradeRecordSchema.safeParse(value);
  if (result.success) return { record: toUpgradeRecord(result.data) };
  return {
    reason: result.error.issues.some((issue) => issue.code === 'invalid_type') ? 'missing-field' : 'invalid-field',
  };
}

/**
 * Keeps the records of `device` that are well-formed, as the nine documented fields (anything else a
 * record carries is left out), and counts the others by reason.
 */
export function screenUpgradeRecords(
  values: readonly unknown[],
  device: DeviceKey,
  options: ScreenOptions = {},
): ScreenedRecords {
  const records: UpgradeRecord[] = [];
  const dropped: DropCounts = {};
  for (const value of values) {
    const screened = screenUpgradeRecord(value, device, options);
    if (screened.reason) dropped[screened.reason] = (dropped[screened.reason] ?? 0) + 1;
    else records.push(screened.record);
  }
  return { records, dropped };
}

/** Keeps the device ids of a device-list page that are IMEIs, as the API's path validation accepts them. */
export function screenDeviceIds(
  values: readonly unknown[],
  options: ScreenOptions = {},
): { deviceIds: string[]; dropped: DropCounts } {
  const deviceIds: string[] = [];
  const dropped: DropCounts = {};
  const drop = (reason: DropReason) => (dropped[reason] = (dropped[reason] ?? 0) + 1);
  for (const value of values) {
    const deviceId = isRecordObject(value) ? value.deviceId : undefined;
    if (typeof deviceId !== 'string') drop('missing-field');
    else if (UNPAIRED_SURROGATE.test(deviceId) || (options.invalidUtf8 && deviceId.includes(REPLACEMENT_CHARACTER)))
      drop('invalid-text');
    else if (!DEVICE_ID_PATTERN.test(deviceId)) drop('invalid-field');
    else deviceIds.push(deviceId);
  }
  return { deviceIds, dropped };
}

export function droppedTotal(dropped: DropCounts): number {
  return Object.values(dropped).reduce((sum, count) => sum + (count ?? 0), 0);
}
