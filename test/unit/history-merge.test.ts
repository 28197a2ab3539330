import { describe, expect, it } from 'vitest';
import { mergeHistory } from '../../domain/history-merge';
import { upgradeRecord } from '../support/records';

const deviceId = '990000473475989';

describe('mergeHistory', () => {
  it('keeps one record per id, the live version winning over the archived one', () => {
    const archived = [
      upgradeRecord({ deviceId, id: 'x', status: 'UpgradeFailed' }),
      upgradeRecord({ deviceId, id: 'old', startDate: '2020-01-01' }),
    ];
    const live = [upgradeRecord({ deviceId, id: 'x', status: 'UpgradeSuccess' })];

    const merged = mergeHistory(live, archived);

    expect(merged.map((record) => [record.id, record.status])).toEqual([
      ['x', 'UpgradeSuccess'],
      ['old', 'UpgradeSuccess'],
    ]);
  });

  it('orders newest first by startDate, then upgradeStartTime (not started first), then id', () => {
    const records = [
      upgradeRecord({ deviceId, id: 'a', startDate: '2026-01-02', upgradeStartTime: '2026-01-02T01:00:00Z' }),
      upgradeRecord({ deviceId, id: 'b', startDate: '2026-01-02', upgradeStartTime: '2026-01-02T05:00:00Z' }),
      upgradeRecord({ deviceId, id: 'c', startDate: '2026-01-02', upgradeStartTime: '' }),
      upgradeRecord({ deviceId, id: 'd', startDate: '2026-01-03', upgradeStartTime: '2026-01-03T00:00:00Z' }),
      upgradeRecord({ deviceId, id: 'e', startDate: '2026-01-02', upgradeStartTime: '2026-01-02T05:00:00Z' }),
      upgradeRecord({ deviceId, id: 'f', startDate: '2025-12-31', upgradeStartTime: '2025-12-31T23:00:00Z' }),
    ];

    expect(mergeHistory(records, []).map((record) => record.id)).toEqual(['d', 'c', 'e', 'b', 'a', 'f']);
  });
});
