import type { UpgradeRecord } from '../../domain/upgrade-record';

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
