import { describe, expect, it } from 'vitest';
import {
  type ListedDevice,
  NEVER_UPGRADED_TIME,
  needsArchiveCheck,
  parseFullResyncDays,
  selectForSync,
  sixMonthsBefore,
  summariseUpgrades,
} from '../../domain/fleet-selection';
import type { DeviceSyncState } from '../../domain/ports';

const NOW = new Date('2026-12-02T04:00:00.000Z');
const POLICY = { now: NOW, fullResyncDays: 7 };
const LISTED: ListedDevice = { deviceId: '351000000000011', firmware: 'FW-2', upgradeTime: '10/01/2026 10:0:0' };
const SYNCED: DeviceSyncState = {
  account: '0000000001',
  deviceId: LISTED.deviceId,
  syncedAt: '2026-12-01T04:00:00.000Z',
  outcome: 'success',
  lastFullSyncAt: '2026-12-01T04:00:00.000Z',
  listed: { firmware: 'FW-2', upgradeTime: '10/01/2026 10:0:0' },
  archivedUpgrades: 1,
};

describe('selectForSync (change-aware fleet sync)', () => {
  it('(a) asks a device never synced successfully, including one whose only sync failed', () => {
    expect(selectForSync(LISTED, undefined, undefined, POLICY)).toEqual({ ask: true, reason: 'never-synced' });
    const failedOnly: DeviceSyncState = {
      account: 'a',
      deviceId: LISTED.deviceId,
      syncedAt: SYNCED.syncedAt,
      outcome: 'failure',
      errorCode: 'X',
    };
    expect(selectForSync(LISTED, failedOnly, undefined, POLICY)).toEqual({ ask: true, reason: 'never-synced' });
  });

  it('(b) asks when the list firmware or upgradeTime differs from the last successful sync', () => {
    expect(selectForSync({ ...LISTED, firmware: 'FW-3' }, SYNCED, undefined, POLICY)).toEqual({
      ask: true,
      reason: 'list-changed',
    });
    expect(selectForSync({ ...LISTED, upgradeTime: '12/01/2026 1:2:3' }, SYNCED, undefined, POLICY)).toEqual({
      ask: true,
      reason: 'list-changed',
    });
    // A failure after a success keeps the success's list entry (services/sync-device.ts), so this still compares.
    expect(selectForSync(LISTED, { ...SYNCED, outcome: 'failure' }, undefined, POLICY)).toEqual({
      ask: false,
      reason: 'unchanged',
    });
  });

  it('(c) asks while an upgrade of the last six months is not UpgradeSuccess, and not once it left the window', () => {
    expect(selectForSync(LISTED, { ...SYNCED, newestUnfinishedStartDate: '2026-06-02' }, undefined, POLICY)).toEqual({
      ask: true,
      reason: 'unfinished-upgrade',
    });
    expect(selectForSync(LISTED, { ...SYNCED, newestUnfinishedStartDate: '2026-06-01' }, undefined, POLICY)).toEqual({
      ask: false,
      reason: 'unchanged',
    });
  });

  it('(d) asks a device not fully synced for fullResyncDays', () => {
    const eightDays = { ...SYNCED, lastFullSyncAt: '2026-11-24T04:00:00.000Z' };
    expect(selectForSync(LISTED, eightDays, undefined, POLICY)).toEqual({ ask: true, reason: 'full-resync-due' });
    expect(selectForSync(LISTED, eightDays, undefined, { ...POLICY, fullResyncDays: 9 })).toEqual({
      ask: false,
      reason: 'unchanged',
    });
    expect(selectForSync(LISTED, { ...SYNCED, lastFullSyncAt: '2026-11-25T04:00:00.000Z' }, undefined, POLICY)).toEqual(
      { ask: true, reason: 'full-resync-due' },
    );
  });

  it('never asks a never-upgraded device with nothing archived, even in a full pass, but asks one with an archive', () => {
    const never = { ...LISTED, upgradeTime: NEVER_UPGRADED_TIME };
    expect(needsArchiveCheck(never, undefined)).toBe(true);
    expect(selectForSync(never, undefined, 0, POLICY)).toEqual({ ask: false, reason: 'never-upgraded' });
    expect(selectForSync(never, undefined, 0, { ...POLICY, fullPass: true })).toEqual({
      ask: false,
      reason: 'never-upgraded',
    });
    const recorded = {
      ...SYNCED,
      archivedUpgrades: 0,
      lastFullSyncAt: undefined,
      listed: { firmware: 'FW-2', upgradeTime: NEVER_UPGRADED_TIME },
    };
    expect(needsArchiveCheck(never, recorded)).toBe(false);
    expect(selectForSync(never, recorded, undefined, POLICY)).toEqual({ ask: false, reason: 'never-upgraded' });
    expect(selectForSync(never, undefined, 1, POLICY)).toEqual({ ask: true, reason: 'never-synced' });
  });

  it('asks every other device in a full pass', () => {
    expect(selectForSync(LISTED, SYNCED, undefined, { ...POLICY, fullPass: true })).toEqual({
      ask: true,
      reason: 'full-pass',
    });
  });
});

describe('summariseUpgrades and the six-month window', () => {
  it('counts distinct upgrades and keeps the newest start date of a non-final one', () => {
    expect(
      summariseUpgrades(
        [
          { id: '1', status: 'UpgradeSuccess', startDate: '2026-11-01' },
          { id: '2', status: 'UpgradeFailed', startDate: '2026-08-01' },
          { id: '3', status: 'InProgress', startDate: '2026-09-01' },
          { id: '3', status: 'InProgress', startDate: '2026-09-01' },
        ],
        '2026-12-02',
      ),
    ).toEqual({ archivedUpgrades: 3, newestUnfinishedStartDate: '2026-09-01' });
    expect(summariseUpgrades([{ id: '1', status: 'Queued', startDate: '' }], '2026-12-02')).toEqual({
      archivedUpgrades: 1,
      newestUnfinishedStartDate: '2026-12-02',
    });
    expect(sixMonthsBefore(NOW)).toBe('2026-06-02');
  });

  it('reads fullResyncDays as 1 to 30 days, 7 when unset, with one clear error otherwise', () => {
    expect(parseFullResyncDays(undefined)).toBe(7);
    expect(parseFullResyncDays('30')).toBe(30);
    expect(() => parseFullResyncDays('31')).toThrow(
      'fullResyncDays must be a whole number of days from 1 to 30, got "31"',
    );
    expect(() => parseFullResyncDays(0)).toThrow(/from 1 to 30/);
  });
});
