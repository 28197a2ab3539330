/**
 * ThingSpace's FOTA v1 upgrade-history record, exactly as the API documents it: nine string fields.
 * The service answers with this shape and nothing else, so a client switches between ThingSpace and
 * this service by changing only its base URL.
 */
export const UPGRADE_RECORD_FIELDS = [
  'deviceId',
  'id',
  'accountName',
  'firmwareFrom',
  'firmwareTo',
  'startDate',
  'upgradeStartTime',
  'status',
  'reason',
] as const;

export type UpgradeRecordField = (typeof UPGRADE_RECORD_FIELDS)[number];
export type UpgradeRecord = Record<UpgradeRecordField, string>;

/** The device a history belongs to: the path parameters of the API, already validated. */
export interface DeviceKey {
  readonly account: string;
  readonly deviceId: string;
}

/** Copies only the nine documented fields, so nothing stored beside a record leaks into a response. */
export function toUpgradeRecord(source: Readonly<Record<UpgradeRecordField, string>>): UpgradeRecord {
  const record = {} as UpgradeRecord;
  for (const field of UPGRADE_RECORD_FIELDS) record[field] = source[field];
  return record;
}

export function sameRecord(a: UpgradeRecord, b: UpgradeRecord): boolean {
  return UPGRADE_RECORD_FIELDS.every((field) => a[field] === b[field]);
}

export function changedFields(from: UpgradeRecord, to: UpgradeRecord): UpgradeRecordField[] {
  return UPGRADE_RECORD_FIELDS.filter((field) => from[field] !== to[field]);
}
