import { describe, expect, it } from 'vitest';
import { planArchiveWrites, planUpgradeWrite, type ArchivedUpgrade } from '../../domain/archive-plan';
import { upgradeRecord } from '../support/records';

const deviceId = '990000473475989';
const T1 = '2026-11-01T00:00:00.000Z';
const T2 = '2026-11-02T00:00:00.000Z';
const T3 = '2026-11-03T00:00:00.000Z';

function archivedAt(observedAt: string, status = 'UpgradeFailed'): ArchivedUpgrade {
  const record = upgradeRecord({ deviceId, id: 'u1', status, reason: status });
  return {
    record,
    firstSeenAt: T1,
    observedAt,
    statusLog: [{ observedAt: T1, status, reason: status, upgradeStartTime: record.upgradeStartTime, changedFields: [] }],
  };
}

describe('planUpgradeWrite', () => {
  it('inserts an upgrade never seen, its log starting with this sighting', () => {
    const live = upgradeRecord({ deviceId, id: 'u1', status: 'InProgress' });

    const write = planUpgradeWrite(live, undefined, T2);

    expect(write).toEqual({
      kind: 'insert',
      next: {
        record: live,
        firstSeenAt: T2,
        observedAt: T2,
        statusLog: [{ observedAt: T2, status: 'InProgress', reason: 'success', upgradeStartTime: live.upgradeStartTime, changedFields: [] }],
      },
    });
  });

  it('writes nothing for an unchanged upgrade', () => {
    const stored = archivedAt(T1);

    expect(planUpgradeWrite(stored.record, stored, T3)).toBeUndefined();
  });

  it('updates a changed upgrade, appending the change to its log and expecting the stored version', () => {
    const stored = archivedAt(T1);
    const live = { ...stored.record, status: 'UpgradeSuccess', reason: 'success', upgradeStartTime: '2026-06-01T11:00:00Z' };

    const write = planUpgradeWrite(live, stored, T2);

    expect(write?.kind).toBe('update');
    if (write?.kind !== 'update') return;
    expect(write.expectedObservedAt).toBe(T1);
    expect(write.next.record).toEqual(live);
    expect(write.next.firstSeenAt).toBe(T1);
    expect(write.next.statusLog).toHaveLength(2);
    expect(write.logEntry).toEqual({
      observedAt: T2,
      status: 'UpgradeSuccess',
      reason: 'success',
      upgradeStartTime: '2026-06-01T11:00:00Z',
      changedFields: ['upgradeStartTime', 'status', 'reason'],
    });
  });

  it('never lets an older observation overwrite a newer one', () => {
    const stored = archivedAt(T3, 'UpgradeSuccess');
    const olderLive = { ...stored.record, status: 'UpgradeFailed' };

    expect(planUpgradeWrite(olderLive, stored, T2)).toBeUndefined();
    expect(planUpgradeWrite(olderLive, stored, T3)).toBeUndefined();
  });
});

describe('planArchiveWrites', () => {
  it('plans one write per new or changed upgrade and none for unchanged ones or repeated ids', () => {
    const unchanged = archivedAt(T1);
    const changed = { ...archivedAt(T1), record: upgradeRecord({ deviceId, id: 'u2', status: 'UpgradeFailed' }) };
    const live = [
      unchanged.record,
      { ...changed.record, status: 'UpgradeSuccess' },
      upgradeRecord({ deviceId, id: 'u3' }),
      upgradeRecord({ deviceId, id: 'u3' }),
    ];

    const writes = planArchiveWrites(live, [unchanged, changed], T2);

    expect(writes.map((write) => [write.kind, write.next.record.id])).toEqual([
      ['update', 'u2'],
      ['insert', 'u3'],
    ]);
  });
});
