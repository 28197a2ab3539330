/** The device list's fields of a simulated device, derived from its history as ThingSpace would show them. */
import type { UpgradeRecord } from '../../domain/upgrade-record';
import type { SimulatedDevice } from './types';

/** ThingSpace's device-list upgradeTime of a device that was never upgraded. */
export const NEVER_UPGRADED_TIME = '01/01/1900 0:0:0';

/** `2025-05-12T08:15:42Z` as the device list writes it: `05/12/2025 8:15:42`. */
function listTime(isoTime: string): string {
  const time = new Date(isoTime);
  if (Number.isNaN(time.getTime())) return NEVER_UPGRADED_TIME;
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${pad(time.getUTCMonth() + 1)}/${pad(time.getUTCDate())}/${time.getUTCFullYear()} ${time.getUTCHours()}:${time.getUTCMinutes()}:${time.getUTCSeconds()}`;
}

/**
 * The device-list entry as ThingSpace would show it with this history: upgradeTime is when the newest
 * upgrade started, firmware what its newest successful upgrade installed. So changing a record (a new
 * upgrade, a failure turned success) changes the list, as on ThingSpace.
 */
export function withListedFields(info: SimulatedDevice, history: readonly UpgradeRecord[]): SimulatedDevice {
  let newest: UpgradeRecord | undefined;
  let newestSuccess: UpgradeRecord | undefined;
  const key = (record: UpgradeRecord) => `${record.startDate}|${record.upgradeStartTime}`;
  for (const record of history) {
    if (!newest || key(record) > key(newest)) newest = record;
    if (record.status === 'UpgradeSuccess' && (!newestSuccess || key(record) > key(newestSuccess)))
      newestSuccess = record;
  }
  return {
    ...info,
    firmware: newestSuccess?.firmwareTo ?? info.firmware,
    upgradeTime: newest ? listTime(newest.upgradeStartTime || newest.startDate) : NEVER_UPGRADED_TIME,
  };
}
