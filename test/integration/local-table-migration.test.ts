import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARCHIVE_INDEX_KINDS, ARCHIVE_INDEXES } from '../../adapters/dynamodb/archive-indexes';
import { DynamoDbArchiveReader } from '../../adapters/dynamodb/dynamodb-archive-reader';
import { statusLogEntryToItem, syncStateToItem, upgradeToItem } from '../../adapters/dynamodb/item-mapping';
import { ensureHistoryTable, migratingTableName } from '../../adapters/dynamodb/table-migration';
import { createHistoryTable, HISTORY_TABLE_KEY_SCHEMA } from '../../adapters/dynamodb/table-schema';
import { planArchiveQuery } from '../../domain/archive-query';
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from '../../local/embedded-dynamodb';
import { nextDeviceId, TEST_ACCOUNT, upgradeRecord } from '../support/records';

type Item = Record<string, unknown>;

let dataDir: string;
let store: EmbeddedDynamoDb;
let client: DynamoDBClient;
let documents: DynamoDBDocumentClient;
let tableCount = 0;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fota-migration-'));
  store = await startEmbeddedDynamoDb({ dataDir });
  client = new DynamoDBClient({
    endpoint: store.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
});
afterAll(async () => {
  client?.destroy();
  await store?.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** What an earlier version wrote: upgrade items without the index attributes, sync and moved log items. */
function oldArchive(firmwareTo: string): Item[] {
  const items: Item[] = [];
  for (let n = 0; n < 30; n += 1) {
    const device = { account: TEST_ACCOUNT, deviceId: nextDeviceId() };
    const record = upgradeRecord({ deviceId: device.deviceId, id: `upgrade-${n}`, firmwareTo });
    const entry = {
      observedAt: '2026-06-01T10:00:00Z',
      status: record.status,
      reason: record.reason,
      upgradeStartTime: record.upgradeStartTime,
      changedFields: [],
    };
    const upgrade = upgradeToItem(device, {
      record,
      firstSeenAt: entry.observedAt,
      observedAt: entry.observedAt,
      statusLog: [entry],
    });
    for (const kind of ARCHIVE_INDEX_KINDS) delete upgrade[ARCHIVE_INDEXES[kind].partitionKey];
    delete upgrade.gsiOrder;
    items.push(
      upgrade,
      syncStateToItem(device, { outcome: 'success', syncedAt: '2026-06-01T11:00:00Z', upgradesSeen: 1 }),
      statusLogEntryToItem(device, record.id, entry),
    );
  }
  return items;
}

async function createOldTable(items: Item[]): Promise<string> {
  tableCount += 1;
  const tableName = `fota-history-old-${tableCount}`;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      ...structuredClone(HISTORY_TABLE_KEY_SCHEMA),
    } as never),
  );
  await createHistoryTable(client, tableName); // exists already: only waits until it is ACTIVE
  for (let index = 0; index < items.length; index += 25) {
    await documents.send(
      new BatchWriteCommand({
        RequestItems: { [tableName]: items.slice(index, index + 25).map((Item) => ({ PutRequest: { Item } })) },
      }),
    );
  }
  return tableName;
}

async function scanAll(tableName: string): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Item | undefined;
  do {
    const page = await documents.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

const keyOf = (item: Item) => `${String(item.pk)}|${String(item.sk)}`;

async function expectMigrated(tableName: string, before: Item[], firmwareTo: string): Promise<void> {
  const after = await scanAll(tableName);
  expect(after.map(keyOf).sort()).toEqual(before.map(keyOf).sort());
  // Nothing else changed on any item: only the index attributes were added to upgrades.
  const byKey = new Map(after.map((item) => [keyOf(item), item]));
  for (const item of before) expect(byKey.get(keyOf(item))).toMatchObject(JSON.parse(JSON.stringify(item)) as Item);
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  expect(Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName).sort()).toEqual(
    ARCHIVE_INDEX_KINDS.map((kind) => ARCHIVE_INDEXES[kind].indexName).sort(),
  );
  await expect(
    client.send(new DescribeTableCommand({ TableName: migratingTableName(tableName) })),
  ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  // The old upgrades answer an archive query served by an index.
  const reader = new DynamoDbArchiveReader({ client: documents, tableName });
  const page = await reader.queryPage(TEST_ACCOUNT, planArchiveQuery({ firmwareTo }), undefined, 1000);
  const upgrades = before.filter((item) => item.type === 'upgrade');
  expect(page.records.map((record) => `${record.deviceId}/${record.id}`).sort()).toEqual(
    upgrades.map((item) => `${String(item.deviceId)}/${String(item.id)}`).sort(),
  );
}

describe('ensureHistoryTable on a table from before the archive indexes', () => {
  it('copies every item into a table with the indexes, makes the upgrades queryable, and does nothing the second time', async () => {
    // Arrange
    const firmwareTo = 'Firmware-migrate-1';
    const before = oldArchive(firmwareTo);
    const tableName = await createOldTable(before);
    expect(
      (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.GlobalSecondaryIndexes,
    ).toBeUndefined();

    // Act
    const first = await ensureHistoryTable(client, tableName);
    const second = await ensureHistoryTable(client, tableName);

    // Assert
    expect(first).toEqual({ action: 'migrated', items: before.length });
    expect(second).toEqual({ action: 'none', items: 0 });
    await expectMigrated(tableName, before, firmwareTo);
  });

  it('finishes a migration cut short after the copy (old table already deleted) with nothing lost', async () => {
    // Arrange: a process that dies right after deleting the old table.
    const firmwareTo = 'Firmware-migrate-2';
    const before = oldArchive(firmwareTo);
    const tableName = await createOldTable(before);
    const { killAfterCopy } = await interruptAfterCopy(tableName);
    expect(killAfterCopy).toBe(true);

    // Act
    const resumed = await ensureHistoryTable(client, tableName);

    // Assert
    expect(resumed).toEqual({ action: 'migrated', items: before.length });
    await expectMigrated(tableName, before, firmwareTo);
  });

  it('restarts a copy cut short before it was complete, keeping the old table until then', async () => {
    // Arrange: a `-migrating` table holding only part of the items and no completion marker.
    const firmwareTo = 'Firmware-migrate-3';
    const before = oldArchive(firmwareTo);
    const tableName = await createOldTable(before);
    const partial = await createOldTable(before.slice(0, 7));
    await copyTableTo(partial, migratingTableName(tableName));

    // Act
    const resumed = await ensureHistoryTable(client, tableName);

    // Assert
    expect(resumed).toEqual({ action: 'migrated', items: before.length });
    await expectMigrated(tableName, before, firmwareTo);
  });

  it('creates a missing table with the indexes', async () => {
    const tableName = `fota-history-new-${Date.now()}`;
    expect(await ensureHistoryTable(client, tableName)).toEqual({ action: 'created', items: 0 });
    expect(await ensureHistoryTable(client, tableName)).toEqual({ action: 'none', items: 0 });
  });
});

/**
 * Leaves the state a process dying right after the copy leaves: `<table>-migrating` complete,
 * `<table>` deleted. The real migration runs on a client that fails for good once the old table's
 * DeleteTable has gone through, as if the process had died there.
 */
async function interruptAfterCopy(tableName: string): Promise<{ killAfterCopy: boolean }> {
  let killAfterCopy = false;
  const dying = new DynamoDBClient({
    endpoint: store.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  dying.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (
        context.commandName === 'DeleteTableCommand' &&
        (args.input as { TableName?: string }).TableName === tableName
      ) {
        killAfterCopy = true;
        throw new Error('process died');
      }
      return result;
    },
    { step: 'initialize', name: 'dieAfterDeletingOldTable' },
  );
  await expect(ensureHistoryTable(dying, tableName)).rejects.toThrow('process died');
  dying.destroy();
  // dynalite finishes a deletion asynchronously.
  await expect
    .poll(() =>
      client.send(new DescribeTableCommand({ TableName: tableName })).then(
        () => 'exists',
        (error: Error) => error.name,
      ),
    )
    .toBe('ResourceNotFoundException');
  return { killAfterCopy };
}

async function copyTableTo(from: string, to: string): Promise<void> {
  const items = await scanAll(from);
  await createHistoryTable(client, to);
  for (let index = 0; index < items.length; index += 25) {
    await documents.send(
      new BatchWriteCommand({
        RequestItems: { [to]: items.slice(index, index + 25).map((Item) => ({ PutRequest: { Item } })) },
      }),
    );
  }
}
