/** Upgrade records and device ids for tests. */
import type { DeviceKey, UpgradeRecord } from '../../domain/upgrade-record';

export const TEST_ACCOUNT = '0242078689-00001';

let sequence = 0;

/** A unique 15-digit IMEI per call, so tests sharing a store and simulator never share a device. */
export function nextDeviceId(): string {
  sequence += 1;
  return `35${String(process.pid % 1000).padStart(3, '0')}${String(Date.now() % 1e6).padStart(6, '0')}${String(sequence).padStart(4, '0')}`.slice(
    0,
    15,
  );
}

/** A ThingSpace upgrade record; only the fields a test cares about need to be given. */
export function upgradeRecord(
  overrides: Partial<UpgradeRecord> & Pick<UpgradeRecord, 'deviceId' | 'id'>,
): UpgradeRecord {
  return {
    accountName: TEST_ACCOUNT,
    firmwareFrom: 'VerizonFirmwareVersion-01',
    firmwareTo: 'VerizonFirmwareVersion-02',
    startDate: '2026-06-01',
    upgradeStartTime: '2026-06-01T10:00:00Z',
    status: 'UpgradeSuccess',
    reason: 'success',
    ...overrides,
  };
}

/**
 * An upgrade of `device` in progress with an empty reason, as ThingSpace first reports one; a test
 * changes its status to make it finish or fail.
 */
export function inProgressUpgrade(
  device: DeviceKey,
  id: string,
  overrides: Partial<UpgradeRecord> = {},
): UpgradeRecord {
  return upgradeRecord({
    deviceId: device.deviceId,
    id,
    accountName: device.account,
    firmwareFrom: 'VZW_FW_1.0',
    firmwareTo: 'VZW_FW_2.0',
    startDate: '2024-05-01',
    upgradeStartTime: '2024-05-01T10:00:00Z',
    status: 'UpgradeInProgress',
    reason: '',
    ...overrides,
  });
}
