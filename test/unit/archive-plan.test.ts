import { describe, expect, it } from 'vitest';
import {
  type ArchivedUpgrade,
  mergeStatusLog,
  planArchiveWrites,
  planUpgradeWrite,
  STATUS_LOG_LATEST_ON_ITEM,
  type StatusLogEntry,
  UPGRADE_ITEM_BUDGET_BYTES,
} from '../../domain/archive-plan';
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
    statusLog: [
      { observedAt: T1, status, reason: status, upgradeStartTime: record.upgradeStartTime, changedFields: [] },
    ],
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
        statusLog: [
          {
            observedAt: T2,
            status: 'InProgress',
            reason: 'success',
            upgradeStartTime: live.upgradeStartTime,
            changedFields: [],
          },
        ],
      },
    });
  });

  it('writes nothing for an unchanged upgrade', () => {
    const stored = archivedAt(T1);

    expect(planUpgradeWrite(stored.record, stored, T3)).toBeUndefined();
  });

  it('updates a changed upgrade, appending the change to its log and expecting the stored version', () => {
    const stored = archivedAt(T1);
    const live = {
      ...stored.record,
      status: 'UpgradeSuccess',
      reason: 'success',
      upgradeStartTime: '2026-06-01T11:00:00Z',
    };

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

/** An upgrade stored with `count` log entries, one a day, each with a reason of `reasonBytes`. */
function archivedWithLog(count: number, reasonBytes = 10): ArchivedUpgrade {
  const statusLog: StatusLogEntry[] = Array.from({ length: count }, (_, index) => ({
    observedAt: `2026-01-01T00:00:${String(index).padStart(2, '0')}.000Z`,
    status: `S${index}`,
    reason: `${index}`.padEnd(reasonBytes, '.'),
    upgradeStartTime: '',
    changedFields: index === 0 ? [] : ['status', 'reason'],
  }));
  const last = statusLog.at(-1)!;
  return {
    record: upgradeRecord({ deviceId, id: 'u1', status: last.status, reason: last.reason }),
    firstSeenAt: statusLog[0]!.observedAt,
    observedAt: last.observedAt,
    statusLog,
  };
}

describe('the status log kept on the upgrade item', () => {
  it('grows on the item, with nothing to move, while it holds the first and at most the latest 20 entries', () => {
    const stored = archivedWithLog(STATUS_LOG_LATEST_ON_ITEM);

    const write = planUpgradeWrite({ ...stored.record, status: 'next' }, stored, T3);

    expect(write?.kind === 'update' && write.movedEntries).toEqual([]);
    expect(write?.next.statusLog).toHaveLength(STATUS_LOG_LATEST_ON_ITEM + 1);
  });

  it('keeps the first entry and the latest 20, moving the oldest of the others out', () => {
    const stored = archivedWithLog(STATUS_LOG_LATEST_ON_ITEM + 1);

    const write = planUpgradeWrite({ ...stored.record, status: 'next' }, stored, T3);

    if (write?.kind !== 'update') throw new Error('expected an update');
    expect(write.movedEntries).toEqual([stored.statusLog[1]]);
    expect(write.next.statusLog).toEqual([stored.statusLog[0], ...stored.statusLog.slice(2), write.logEntry]);
  });

  it('moves entries out by size as well, keeping the item within its byte budget', () => {
    const reasonBytes = 50 * 1024;
    const stored = archivedWithLog(6, reasonBytes);

    const write = planUpgradeWrite({ ...stored.record, status: 'next' }, stored, T3);

    if (write?.kind !== 'update') throw new Error('expected an update');
    const keptBytes = write.next.statusLog.length * reasonBytes + write.next.record.reason.length;
    expect(keptBytes).toBeLessThanOrEqual(UPGRADE_ITEM_BUDGET_BYTES);
    expect(write.next.statusLog[0]).toEqual(stored.statusLog[0]);
    expect(write.next.statusLog.at(-1)).toEqual(write.logEntry);
    expect(mergeStatusLog(write.next.statusLog, write.movedEntries)).toEqual([...stored.statusLog, write.logEntry]);
  });

  it('never moves the new entry, even when it alone is over the budget', () => {
    const stored = archivedWithLog(3);
    const huge = { ...stored.record, status: 'next', reason: 'x'.repeat(UPGRADE_ITEM_BUDGET_BYTES) };

    const write = planUpgradeWrite(huge, stored, T3);

    if (write?.kind !== 'update') throw new Error('expected an update');
    expect(write.next.statusLog).toEqual([write.logEntry]);
    expect(write.movedEntries).toEqual(stored.statusLog);
  });
});

describe('mergeStatusLog', () => {
  it('gives one entry per observedAt, oldest first, whichever part holds it', () => {
    const { statusLog } = archivedWithLog(5);
    const [e0, e1, e2, e3, e4] = statusLog as [
      StatusLogEntry,
      StatusLogEntry,
      StatusLogEntry,
      StatusLogEntry,
      StatusLogEntry,
    ];

    expect(mergeStatusLog([e0, e3, e4], [e2, e1, e3])).toEqual([e0, e1, e2, e3, e4]);
  });
});
