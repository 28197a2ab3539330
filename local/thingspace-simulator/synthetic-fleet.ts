/**
 * A large fleet whose ids and histories are computed from the device's position, so a million-device
 * benchmark costs no memory and every run sees the same data.
 */
import { createHash } from 'node:crypto';
import type { UpgradeRecord } from '../../domain/upgrade-record';
import { withListedFields } from './device-list';
import type { SimulatedDevice } from './types';

export interface SyntheticFleetOptions {
  size: number;
  recordsPerDevice: number;
  /** The 14-digit body of the first IMEI; the fleet's ids count up from it. */
  firstImeiBody?: number;
}

const DEFAULT_FIRST_IMEI_BODY = 35_000_000_000_000;
const NEWEST_UPGRADE_DAY = Date.UTC(2025, 5, 1);
const DAY_MS = 86_400_000;
const DAYS_BETWEEN_UPGRADES = 45;

/** The IMEI check digit (Luhn over the 14-digit body), so synthetic ids look like real IMEIs. */
function luhnCheckDigit(body: string): number {
  let sum = 0;
  for (let index = 0; index < body.length; index += 1) {
    let digit = Number(body[index]);
    if (index % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return (10 - (sum % 10)) % 10;
}

function digest(text: string): Buffer {
  return createHash('sha1').update(text).digest();
}

function uuidFrom(bytes: Buffer): string {
  const hex = bytes.toString('hex').slice(0, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function isoDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

export class SyntheticFleet {
  readonly size: number;
  readonly recordsPerDevice: number;
  private readonly firstBody: number;

  constructor(
    readonly account: string,
    options: SyntheticFleetOptions,
  ) {
    if (!Number.isInteger(options.size) || options.size < 0) throw new Error('size must be a non-negative integer');
    if (!Number.isInteger(options.recordsPerDevice) || options.recordsPerDevice < 0) {
      throw new Error('recordsPerDevice must be a non-negative integer');
    }
    this.size = options.size;
    this.recordsPerDevice = options.recordsPerDevice;
    this.firstBody = options.firstImeiBody ?? DEFAULT_FIRST_IMEI_BODY;
    if (String(this.firstBody + this.size).length > 14) throw new Error('fleet does not fit 14-digit IMEI bodies');
  }

  deviceIdAt(index: number): string {
    const body = String(this.firstBody + index).padStart(14, '0');
    return `${body}${luhnCheckDigit(body)}`;
  }

  indexOf(deviceId: string): number {
    if (!/^[0-9]{15}$/.test(deviceId)) return -1;
    const index = Number(deviceId.slice(0, 14)) - this.firstBody;
    if (index < 0 || index >= this.size) return -1;
    return this.deviceIdAt(index) === deviceId ? index : -1;
  }

  /** The position of the first device whose id sorts after `deviceId` (ids sort as strings). */
  firstIndexAfter(deviceId: string): number {
    let low = 0;
    let high = this.size;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      if (this.deviceIdAt(middle) > deviceId) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  /** The device's list entry, with firmware and upgradeTime as its history implies. */
  device(index: number): SimulatedDevice {
    return withListedFields(this.deviceInfo(index), this.history(index));
  }

  /** The device without the fields computed from its history. */
  deviceInfo(index: number): SimulatedDevice {
    const deviceId = this.deviceIdAt(index);
    const mdn = String(2_000_000_000 + (index % 7_999_999_999)).padStart(10, '0');
    return {
      deviceId,
      mdn,
      model: 'SIM-MODEL-1',
      make: 'SIMULATED',
      firmware: 'SyntheticFirmware-0',
      upgradeTime: '',
    };
  }

  /** Newest first; record k is k upgrades older than the newest one. */
  history(index: number): UpgradeRecord[] {
    const deviceId = this.deviceIdAt(index);
    const newestDay = NEWEST_UPGRADE_DAY - (index % 30) * DAY_MS;
    const records: UpgradeRecord[] = [];
    for (let k = 0; k < this.recordsPerDevice; k += 1) {
      const bytes = digest(`${this.account}/${deviceId}/${k}`);
      const day = newestDay - k * DAYS_BETWEEN_UPGRADES * DAY_MS;
      const startSecond = (bytes.readUInt32BE(16) % 86_400) * 1000;
      const failed = (bytes[0] ?? 0) % 10 === 0;
      const version = this.recordsPerDevice - k;
      records.push({
        deviceId,
        id: uuidFrom(bytes),
        accountName: this.account,
        firmwareFrom: `SyntheticFirmware-${version - 1}`,
        firmwareTo: `SyntheticFirmware-${version}`,
        startDate: isoDay(day),
        upgradeStartTime: new Date(day + startSecond).toISOString().replace('.000Z', 'Z'),
        status: failed ? 'UpgradeFailed' : 'UpgradeSuccess',
        reason: failed ? 'Device did not respond' : 'success',
      });
    }
    return records;
  }
}
