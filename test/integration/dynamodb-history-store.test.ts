import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../adapters/dynamodb/client';
import { DynamoDbHistoryStore } from '../../adapters/dynamodb/dynamodb-history-store';
import { createHistoryTable, upgradeKey } from '../../adapters/dynamodb/table-schema';
import { type ArchiveWrite, planArchiveWrites, planUpgradeWrite } from '../../domain/archive-plan';
import type { DiscoveryCheckpoint } from '../../domain/ports';
import type { DeviceKey, UpgradeRecord } from '../../domain/upgrade-record';
import { startEmbeddedDynamoDb } from '../../local/embedded-dynamodb';
import { countOperations, useTestDynamoDb } from '../support/dynamodb';
import { inProgressUpgrade } from '../support/records';

const dynamo = useTestDynamoDb();
const device: DeviceKey = { account: '0242078689-00001', deviceId: '990013907835573' };

const upgrade = (id: string, overrides: Partial<UpgradeRecord> = {}) => inProgressUpgrade(device, id, overrides);

async function newStore(client = dynamo.client) {
  const tableName = await dynamo.createTestTable();
  return {
    tableName,
    store: new DynamoDbHistoryStore({ client, tableName, retry: { baseDelayMs: 1, maxDelayMs: 5 } }),
  };
}

/** Plans against what is stored now and applies, as a sync of one observation would. */
async function observe(store: DynamoDbHistoryStore, live: UpgradeRecord[], observedAt: string) {
  const writes = planArchiveWrites(live, await store.listUpgrades(device), observedAt);
  return store.applyWrites(device, writes);
}

describe('DynamoDbHistoryStore against dynalite', () => {
  it('stores an inserted upgrade and lists exactly its nine fields back, empty strings kept', async () => {
    // Prepare
    const { store } = await newStore();
    const record = upgrade('upg-1', { reason: '', upgradeStartTime: '' });

    // Act
    const result = await observe(store, [record], '2024-05-02T00:00:00.000Z');
    const listed = await store.listUpgrades(device);

    // Assess
    expect(result).toEqual({ inserted: 1, updated: 0, unchanged: 0, skipped: 0 });
    expect(listed).toEqual([
      {
        record,
        firstSeenAt: '2024-05-02T00:00:00.000Z',
        observedAt: '2024-05-02T00:00:00.000Z',
        statusLog: [
          {
            observedAt: '2024-05-02T00:00:00.000Z',
            status: 'UpgradeInProgress',
            reason: '',
            upgradeStartTime: '',
            changedFields: [],
          },
        ],
      },
    ]);
    expect(Object.keys(listed[0]!.record).sort()).toEqual(Object.keys(record).sort());
  });

  it('keeps other devices and non-upgrade items out of a device listing', async () => {
    // Prepare
    const { store } = await newStore();
    const otherDevice: DeviceKey = { account: device.account, deviceId: '990013907835574' };
    await observe(store, [upgrade('mine')], '2024-05-02T00:00:00.000Z');
    await store.applyWrites(otherDevice, planArchiveWrites([upgrade('theirs')], [], '2024-05-02T00:00:00.000Z'));
    await store.recordSyncOutcome(device, {
      syncedAt: '2024-05-02T00:00:00.000Z',
      outcome: 'success',
      upgradesSeen: 1,
    });

    // Act
    const listed = await store.listUpgrades(device);

    // Assess
    expect(listed.map((archived) => archived.record.id)).toEqual(['mine']);
  });

  it('follows every Query page when a device has more upgrades than one page holds', async () => {
    // Prepare: ~4 KB a record makes 300 records span several 1 MB pages.
    const client = dynamo.createClient();
    const operations = countOperations(client);
    const { store } = await newStore(client);
    const bulky = 'x'.repeat(4_000);
    const records = Array.from({ length: 300 }, (_, index) =>
      upgrade(`upg-${String(index).padStart(4, '0')}`, { reason: bulky }),
    );
    await store.applyWrites(device, planArchiveWrites(records, [], '2024-05-02T00:00:00.000Z'));
    operations.reset();

    // Act
    const listed = await store.listUpgrades(device);

    // Assess
    expect(operations.count('Query')).toBeGreaterThan(1);
    expect(listed.map((archived) => archived.record.id).sort()).toEqual(records.map((record) => record.id));
  });

  it('costs no write when a re-read finds nothing changed', async () => {
    // Prepare
    const client = dynamo.createClient();
    const operations = countOperations(client);
    const { store } = await newStore(client);
    const records = [upgrade('upg-1'), upgrade('upg-2')];
    await observe(store, records, '2024-05-02T00:00:00.000Z');
    operations.reset();

    // Act
    const result = await observe(store, records, '2024-05-03T00:00:00.000Z');

    // Assess
    expect(result).toEqual({ inserted: 0, updated: 0, unchanged: 0, skipped: 0 });
    expect(operations.count('PutItem') + operations.count('UpdateItem')).toBe(0);
  });

  it('updates a changed upgrade and appends the change to its status log', async () => {
    // Prepare
    const { store } = await newStore();
    await observe(store, [upgrade('upg-1')], '2024-05-02T00:00:00.000Z');

    // Act
    const result = await observe(
      store,
      [upgrade('upg-1', { status: 'UpgradeFailed', reason: 'Device not reachable' })],
      '2024-05-03T00:00:00.000Z',
    );
    const [stored] = await store.listUpgrades(device);

    // Assess
    expect(result).toEqual({ inserted: 0, updated: 1, unchanged: 0, skipped: 0 });
    expect(stored!.record.status).toBe('UpgradeFailed');
    expect(stored!.firstSeenAt).toBe('2024-05-02T00:00:00.000Z');
    expect(stored!.observedAt).toBe('2024-05-03T00:00:00.000Z');
    expect(stored!.statusLog).toEqual([
      expect.objectContaining({
        observedAt: '2024-05-02T00:00:00.000Z',
        status: 'UpgradeInProgress',
        changedFields: [],
      }),
      {
        observedAt: '2024-05-03T00:00:00.000Z',
        status: 'UpgradeFailed',
        reason: 'Device not reachable',
        upgradeStartTime: '2024-05-01T10:00:00Z',
        changedFields: ['status', 'reason'],
      },
    ]);
  });

  it('never lets an older observation overwrite a newer one, even when planned against stale data', async () => {
    // Prepare: the old writer planned before the newer state was stored.
    const { store } = await newStore();
    await observe(store, [upgrade('upg-1')], '2024-05-01T00:00:00.000Z');
    const staleArchive = await store.listUpgrades(device);
    const staleWrites = planArchiveWrites(
      [upgrade('upg-1', { status: 'UpgradeFailed' })],
      staleArchive,
      '2024-05-02T00:00:00.000Z',
    );
    await observe(store, [upgrade('upg-1', { status: 'UpgradeSuccess' })], '2024-05-03T00:00:00.000Z');

    // Act
    const result = await store.applyWrites(device, staleWrites);
    const [stored] = await store.listUpgrades(device);

    // Assess
    expect(result).toEqual({ inserted: 0, updated: 0, unchanged: 1, skipped: 0 });
    expect(stored!.record.status).toBe('UpgradeSuccess');
    expect(stored!.statusLog.map((entry) => entry.status)).toEqual(['UpgradeInProgress', 'UpgradeSuccess']);
  });

  it('stores a record once when 30 requests archive the same first observation at once', async () => {
    // Prepare: every request planned against the same empty archive.
    const { store } = await newStore();
    const records = [upgrade('upg-1'), upgrade('upg-2'), upgrade('upg-3')];
    const writes = planArchiveWrites(records, [], '2024-05-02T00:00:00.000Z');

    // Act
    const results = await Promise.all(Array.from({ length: 30 }, () => store.applyWrites(device, writes)));
    const listed = await store.listUpgrades(device);

    // Assess
    expect(results.reduce((sum, result) => sum + result.inserted, 0)).toBe(3);
    expect(results.reduce((sum, result) => sum + result.unchanged, 0)).toBe(87);
    expect(listed.map((archived) => archived.record.id).sort()).toEqual(['upg-1', 'upg-2', 'upg-3']);
    for (const archived of listed) expect(archived.statusLog).toHaveLength(1);
  });

  it('keeps the newest of concurrent different observations and logs each change once', async () => {
    // Prepare: ten observations, all planned against the same stored state, applied in scrambled order.
    const { store } = await newStore();
    await observe(store, [upgrade('upg-1', { status: 'Status-00' })], '2024-05-01T00:00:00.000Z');
    const [base] = await store.listUpgrades(device);
    const observations = Array.from({ length: 10 }, (_, index) => ({
      record: upgrade('upg-1', { status: `Status-${String(index + 1).padStart(2, '0')}` }),
      observedAt: `2024-05-${String(index + 2).padStart(2, '0')}T00:00:00.000Z`,
    }));
    const scrambled = [7, 2, 9, 0, 5, 3, 8, 1, 6, 4].map((index) => observations[index]!);
    const writes = scrambled.map(
      ({ record, observedAt }) => planUpgradeWrite(record, base, observedAt) as ArchiveWrite,
    );

    // Act
    await Promise.all(writes.map((write) => store.applyWrites(device, [write])));
    const [stored] = await store.listUpgrades(device);

    // Assess
    expect(stored!.record.status).toBe('Status-10');
    expect(stored!.observedAt).toBe('2024-05-11T00:00:00.000Z');
    const logged = stored!.statusLog.map((entry) => entry.observedAt);
    expect(new Set(logged).size).toBe(logged.length);
    expect([...logged].sort()).toEqual(logged);
    expect(logged[0]).toBe('2024-05-01T00:00:00.000Z');
    expect(logged.at(-1)).toBe('2024-05-11T00:00:00.000Z');
  });

  it('keeps the newest sync outcome when an older one arrives late', async () => {
    // Prepare
    const { store } = await newStore();
    await store.recordSyncOutcome(device, {
      syncedAt: '2024-05-03T00:00:00.000Z',
      outcome: 'failure',
      errorCode: 'Timeout',
    });

    // Act
    await store.recordSyncOutcome(device, {
      syncedAt: '2024-05-02T00:00:00.000Z',
      outcome: 'success',
      upgradesSeen: 4,
    });
    const afterLate = await store.getSyncState(device);
    await store.recordSyncOutcome(device, {
      syncedAt: '2024-05-04T00:00:00.000Z',
      outcome: 'success',
      upgradesSeen: 5,
    });
    const afterNewer = await store.getSyncState(device);

    // Assess
    expect(afterLate).toEqual({
      ...device,
      syncedAt: '2024-05-03T00:00:00.000Z',
      outcome: 'failure',
      errorCode: 'Timeout',
    });
    expect(afterNewer).toEqual({
      ...device,
      syncedAt: '2024-05-04T00:00:00.000Z',
      outcome: 'success',
      upgradesSeen: 5,
    });
  });

  it('has no sync state or checkpoint for what was never recorded', async () => {
    // Prepare
    const { store } = await newStore();

    // Act
    const state = await store.getSyncState(device);
    const checkpoint = await store.getDiscoveryCheckpoint(device.account);

    // Assess
    expect(state).toBeUndefined();
    expect(checkpoint).toBeUndefined();
  });

  it('advances a discovery checkpoint only from the expected one', async () => {
    // Prepare
    const { store } = await newStore();
    const first: DiscoveryCheckpoint = {
      account: device.account,
      runId: 'run-1',
      startedAt: '2024-05-02T00:00:00.000Z',
      nextIndex: '0',
      pagesDone: 0,
      devicesEnqueued: 0,
      state: 'running',
      updatedAt: '2024-05-02T00:00:00.000Z',
    };
    const second = { ...first, nextIndex: '990013907835573', pagesDone: 1, devicesEnqueued: 1000 };

    // Act
    const started = await store.saveDiscoveryCheckpoint(first, undefined);
    const secondStartWhileRunning = await store.saveDiscoveryCheckpoint({ ...first, runId: 'run-2' }, undefined);
    const advanced = await store.saveDiscoveryCheckpoint(second, first);
    const advancedTwice = await store.saveDiscoveryCheckpoint({ ...second, pagesDone: 2 }, first);
    const stored = await store.getDiscoveryCheckpoint(device.account);

    // Assess
    expect([started, secondStartWhileRunning, advanced, advancedTwice]).toEqual([true, false, true, false]);
    expect(stored).toEqual(second);
  });

  it('lets a new discovery run replace a finished one', async () => {
    // Prepare
    const { store } = await newStore();
    const finished: DiscoveryCheckpoint = {
      account: device.account,
      runId: 'run-1',
      startedAt: '2024-05-02T00:00:00.000Z',
      nextIndex: '0',
      pagesDone: 3,
      devicesEnqueued: 2500,
      state: 'done',
      updatedAt: '2024-05-02T01:00:00.000Z',
    };
    await store.saveDiscoveryCheckpoint(finished, undefined);
    const next = { ...finished, runId: 'run-2', pagesDone: 0, devicesEnqueued: 0, state: 'running' as const };

    // Act
    const replaced = await store.saveDiscoveryCheckpoint(next, undefined);

    // Assess
    expect(replaced).toBe(true);
    expect(await store.getDiscoveryCheckpoint(device.account)).toEqual(next);
  });
});

describe('createHistoryTable', () => {
  it('creates an existing table again without error and keeps its items', async () => {
    // Prepare
    const tableName = await dynamo.createTestTable();
    const item = { ...upgradeKey(device, 'upg-1'), marker: 'kept' };
    await dynamo.client.send(new PutCommand({ TableName: tableName, Item: item }));

    // Act
    await createHistoryTable(dynamo.client, tableName);
    const { Item } = await dynamo.client.send(
      new GetCommand({ TableName: tableName, Key: upgradeKey(device, 'upg-1') }),
    );

    // Assess
    expect(Item).toEqual(item);
  });
});

describe('startEmbeddedDynamoDb with a dataDir', () => {
  it('keeps the archive across a restart', async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), 'fota-dynalite-'));
    try {
      const first = await startEmbeddedDynamoDb({ dataDir });
      const firstClient = createDocumentClient({ endpoint: first.endpoint });
      await createHistoryTable(firstClient, 'history');
      const firstStore = new DynamoDbHistoryStore({ client: firstClient, tableName: 'history' });
      await firstStore.applyWrites(device, planArchiveWrites([upgrade('upg-1')], [], '2024-05-02T00:00:00.000Z'));
      firstClient.destroy();
      await first.close();

      // Act
      const second = await startEmbeddedDynamoDb({ dataDir });
      const secondClient = createDocumentClient({ endpoint: second.endpoint });
      const listed = await new DynamoDbHistoryStore({ client: secondClient, tableName: 'history' }).listUpgrades(
        device,
      );
      secondClient.destroy();
      await second.close();

      // Assess
      expect(listed.map((archived) => archived.record)).toEqual([upgrade('upg-1')]);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
