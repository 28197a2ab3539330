import { describe, expect, it } from 'vitest';
import { DynamoDbHistoryStore } from '../../adapters/dynamodb/dynamodb-history-store';
import type { ThingSpaceApi } from '../../domain/ports';
import { ThingSpaceError } from '../../domain/thingspace-error';
import { MAX_FAILURES_KEPT, runSyncPass } from '../../local/sync-pass';
import { formatSummary } from '../../local/sync-summary';
import { useTestDynamoDb } from '../support/dynamodb';

const db = useTestDynamoDb();
const ACCOUNT = '0242078689-00077';

describe('a sync pass where ThingSpace fails every device', () => {
  it('counts every failure by errorCode but names only the first few, so memory and output stay bounded', async () => {
    // Prepare: 60 listed devices, each history call unavailable
    const deviceIds = Array.from({ length: 60 }, (_, index) => String(356000000000000 + index));
    const thingspace: ThingSpaceApi = {
      listDevices: async () => ({
        deviceIds,
        hasMoreData: false,
        lastSeenDeviceId: '',
        devices: deviceIds.map((deviceId) => ({ deviceId, firmware: 'FW-1', upgradeTime: '05/12/2025 8:15:42' })),
      }),
      getDeviceHistory: async () => {
        throw new ThingSpaceError('unavailable', 'ThingSpace is down', { status: 503 });
      },
    };
    const store = new DynamoDbHistoryStore({ client: db.client, tableName: await db.createTestTable() });

    // Act
    const result = await runSyncPass(ACCOUNT, { thingspace, store }, { concurrency: 8 });
    const summary = formatSummary(result);

    // Assess
    expect(result.failedCount).toBe(60);
    expect(result.failedByCode).toEqual({ UPSTREAM_UNAVAILABLE: 60 });
    expect(result.failed).toHaveLength(MAX_FAILURES_KEPT);
    expect(summary).toContain(`${ACCOUNT}: 60 devices listed, 60 asked, 0 skipped, 0 synced, 60 failed in `);
    expect(summary.split('\n').filter((line) => line.startsWith('  failed: '))).toHaveLength(MAX_FAILURES_KEPT);
    expect(summary).toContain(
      `  ... and ${60 - MAX_FAILURES_KEPT} more (all failures by errorCode: UPSTREAM_UNAVAILABLE 60)`,
    );
  });
});
