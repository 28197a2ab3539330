import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbHistoryStore } from '../../adapters/dynamodb/dynamodb-history-store';
import { upgradeKey } from '../../adapters/dynamodb/table-schema';
import { STATUS_LOG_LATEST_ON_ITEM } from '../../domain/archive-plan';
import type { ThingSpaceApi } from '../../domain/ports';
import type { DeviceKey, UpgradeRecord } from '../../domain/upgrade-record';
import { apiErrorOf } from '../../functions/commons/http-failures';
import { getDeviceHistory } from '../../services/get-device-history';
import { countOperations, useTestDynamoDb } from '../support/dynamodb';
import { nextDeviceId, TEST_ACCOUNT, upgradeRecord } from '../support/records';

const dynamo = useTestDynamoDb();
/** Tests that make dozens of sequential requests get room on a shared, busy machine; no time is asserted. */
const SLOW_TEST_TIMEOUT_MS = 90_000;

/** ThingSpace as the port sees it, answering whatever the test puts in `records`. */
function thingSpaceAnswering(records: UpgradeRecord[]): ThingSpaceApi & { records: UpgradeRecord[] } {
  return {
    records,
    async getDeviceHistory() {
      return this.records.map((record) => ({ ...record }));
    },
    async listDevices() {
      throw new Error('not used');
    },
  };
}

/** One second later on every observation, so each change has its own observedAt. */
function steppingClock(start = Date.parse('2026-01-01T00:00:00.000Z')) {
  let now = start;
  return () => {
    now += 1_000;
    return new Date(now);
  };
}

interface Warning {
  message: string;
  attributes: Record<string, unknown>;
}

async function newArchive(client = dynamo.client) {
  const tableName = await dynamo.createTestTable();
  const warnings: Warning[] = [];
  const store = new DynamoDbHistoryStore({
    client,
    tableName,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    logger: { warn: (message, attributes) => warnings.push({ message, attributes }) },
  });
  const device: DeviceKey = { account: TEST_ACCOUNT, deviceId: nextDeviceId() };
  return {
    tableName,
    store,
    warnings,
    device,
    record: (id: string, overrides: Partial<UpgradeRecord> = {}) =>
      upgradeRecord({ deviceId: device.deviceId, id, ...overrides }),
  };
}

function ids(records: readonly UpgradeRecord[]): string[] {
  return records.map((record) => record.id).sort();
}

describe('a record DynamoDB refuses for good', () => {
  it.each([
    [
      'an upgrade id of 2,000 characters (sort key over 1,024 bytes)',
      (id: string) => ({ id: `${id}-${'i'.repeat(2_000)}` }),
    ],
    ['a reason of 300 KB (the item and its log entry over 400 KB)', () => ({ reason: 'r'.repeat(300 * 1024) })],
  ])('with %s is served but not archived, and never blocks the device', async (_case, poison) => {
    // Prepare
    const { store, warnings, device, record } = await newArchive();
    const good = record('good-1');
    const bad = record('bad', poison('bad'));
    const thingspace = thingSpaceAnswering([good, bad]);
    const dependencies = { thingspace, store, now: steppingClock() };

    // Act
    const first = await getDeviceHistory(device, dependencies);
    const second = await getDeviceHistory(device, dependencies);
    thingspace.records = [bad];
    const afterGoodAgedOut = await getDeviceHistory(device, dependencies);

    // Assess
    expect(ids(first.records)).toEqual(ids([good, bad]));
    expect(first.archive).toEqual({ inserted: 1, updated: 0, unchanged: 0, skipped: 1 });
    expect(second.archive).toEqual({ inserted: 0, updated: 0, unchanged: 1, skipped: 1 });
    expect(ids(afterGoodAgedOut.records)).toEqual(ids([good, bad]));
    expect((await store.listUpgrades(device)).map((upgrade) => upgrade.record)).toEqual([good]);
    expect(warnings).toHaveLength(3);
    for (const warning of warnings) {
      expect(warning.attributes).toMatchObject({ deviceId: device.deviceId, errorName: 'ValidationException' });
      expect(String(warning.attributes.upgradeId).length).toBeLessThanOrEqual(64);
      expect(JSON.stringify(warning).length).toBeLessThan(1_000);
    }
  });
});

describe('an upgrade whose status log grows past what one item can hold', () => {
  it(
    'keeps every one of 60 changes with 8 KB reasons, readable in order, with one write per change until the log overflows',
    async () => {
      // Prepare
      const client = dynamo.createClient();
      const operations = countOperations(client);
      const { store, device, record } = await newArchive(client);
      const reasonOf = (change: number) => `change ${String(change).padStart(2, '0')} `.padEnd(8 * 1024, 'x');
      const thingspace = thingSpaceAnswering([record('flapping', { status: 'Status-00', reason: reasonOf(0) })]);
      const dependencies = { thingspace, store, now: steppingClock() };
      await getDeviceHistory(device, dependencies);
      const writesPerChange: number[] = [];

      // Act
      for (let change = 1; change <= 60; change += 1) {
        thingspace.records = [
          record('flapping', { status: `Status-${String(change).padStart(2, '0')}`, reason: reasonOf(change) }),
        ];
        operations.reset();
        const answer = await getDeviceHistory(device, dependencies);
        expect(answer.archive).toMatchObject({ updated: 1, skipped: 0 });
        writesPerChange.push(operations.count('PutItem'));
      }
      const [log] = await store.listStatusLogs(device);
      const [onItem] = await store.listUpgrades(device);

      // Assess
      expect(log!.upgradeId).toBe('flapping');
      expect(log!.statusLog.map((entry) => entry.reason)).toEqual(
        Array.from({ length: 61 }, (_, change) => reasonOf(change)),
      );
      expect(log!.statusLog.map((entry) => entry.status)).toEqual(
        Array.from({ length: 61 }, (_, change) => `Status-${String(change).padStart(2, '0')}`),
      );
      expect(onItem!.record.reason).toBe(reasonOf(60));
      expect(onItem!.statusLog).toHaveLength(STATUS_LOG_LATEST_ON_ITEM + 1);
      expect(onItem!.statusLog[0]!.reason).toBe(reasonOf(0));
      // Until the item holds the first entry and the latest 20, a change costs its one write; after, one more.
      expect(writesPerChange.slice(0, STATUS_LOG_LATEST_ON_ITEM)).toEqual(Array(STATUS_LOG_LATEST_ON_ITEM).fill(1));
      expect(writesPerChange.slice(STATUS_LOG_LATEST_ON_ITEM)).toEqual(Array(60 - STATUS_LOG_LATEST_ON_ITEM).fill(2));
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  it(
    'moves entries out by size too, so reasons of 60 KB never push the item past 400 KB',
    async () => {
      // Prepare
      const { store, device, record } = await newArchive();
      const reasonOf = (change: number) => `change ${change} `.padEnd(60 * 1024, 'y');
      const thingspace = thingSpaceAnswering([record('long', { status: 'S0', reason: reasonOf(0) })]);
      const dependencies = { thingspace, store, now: steppingClock() };
      await getDeviceHistory(device, dependencies);

      // Act
      for (let change = 1; change <= 12; change += 1) {
        thingspace.records = [record('long', { status: `S${change}`, reason: reasonOf(change) })];
        const answer = await getDeviceHistory(device, dependencies);
        expect(answer.archive).toMatchObject({ updated: 1, skipped: 0 });
      }
      const [log] = await store.listStatusLogs(device);
      const [onItem] = await store.listUpgrades(device);

      // Assess
      expect(log!.statusLog.map((entry) => entry.status)).toEqual(
        Array.from({ length: 13 }, (_, change) => `S${change}`),
      );
      expect(onItem!.statusLog.length).toBeLessThan(6);
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  it('loses nothing when the process dies between moving entries and trimming the item', async () => {
    // Prepare: a full log, then a client that "crashes" on the next upgrade-item write only.
    const client = dynamo.createClient();
    const { store, device, record } = await newArchive(client);
    const thingspace = thingSpaceAnswering([record('crashy', { status: 'S00' })]);
    const dependencies = { thingspace, store, now: steppingClock() };
    await getDeviceHistory(device, dependencies);
    for (let change = 1; change <= STATUS_LOG_LATEST_ON_ITEM; change += 1) {
      thingspace.records = [record('crashy', { status: `S${String(change).padStart(2, '0')}` })];
      await getDeviceHistory(device, dependencies);
    }
    let crashes = 1;
    client.middlewareStack.add(
      (next) => async (args) => {
        const item = (args.input as { Item?: { sk?: string } }).Item;
        if (crashes > 0 && item?.sk?.startsWith('UPGRADE#')) {
          crashes -= 1;
          throw Object.assign(new Error('connection lost mid-request'), { name: 'TimeoutError' });
        }
        return next(args);
      },
      { step: 'initialize', name: 'crashOnUpgradeWrite' },
    );
    thingspace.records = [record('crashy', { status: 'S21' })];

    // Act
    const crashed = getDeviceHistory(device, dependencies).catch((error: unknown) => {
      throw apiErrorOf(error) ?? error;
    });
    await expect(crashed).rejects.toMatchObject({ statusCode: 503, errorCode: 'ARCHIVE_UNAVAILABLE' });
    const [afterCrash] = await store.listStatusLogs(device);
    const retried = await getDeviceHistory(device, dependencies);
    const [afterRetry] = await store.listStatusLogs(device);

    // Assess
    const expected = Array.from({ length: 22 }, (_, change) => `S${String(change).padStart(2, '0')}`);
    expect(afterCrash!.statusLog.map((entry) => entry.status)).toEqual(expected.slice(0, 21));
    expect(retried.archive).toMatchObject({ updated: 1 });
    expect(afterRetry!.statusLog.map((entry) => entry.status)).toEqual(expected);
  });

  it(
    'keeps every entry once when ten writers change a full log at the same time',
    async () => {
      // Prepare
      const { store, device, record } = await newArchive();
      const thingspace = thingSpaceAnswering([record('raced', { status: 'S00' })]);
      const clock = steppingClock();
      const dependencies = { thingspace, store, now: clock };
      await getDeviceHistory(device, dependencies);
      for (let change = 1; change <= STATUS_LOG_LATEST_ON_ITEM + 3; change += 1) {
        thingspace.records = [record('raced', { status: `S${String(change).padStart(2, '0')}` })];
        await getDeviceHistory(device, dependencies);
      }
      const [before] = await store.listStatusLogs(device);

      // Act: each writer sees the same stored state and its own newer status.
      const racers = Array.from({ length: 10 }, (_, index) => ({
        thingspace: thingSpaceAnswering([record('raced', { status: `R${index}` })]),
        store,
        now: clock,
      }));
      await Promise.all(racers.map((racer) => getDeviceHistory(device, racer)));
      const [after] = await store.listStatusLogs(device);

      // Assess
      const observed = after!.statusLog.map((entry) => entry.observedAt);
      expect(new Set(observed).size).toBe(observed.length);
      expect([...observed].sort()).toEqual(observed);
      expect(after!.statusLog.slice(0, before!.statusLog.length)).toEqual(before!.statusLog);
      const [stored] = await store.listUpgrades(device);
      expect(after!.statusLog.at(-1)!.status).toBe(stored!.record.status);
      expect(stored!.statusLog.length).toBeLessThanOrEqual(STATUS_LOG_LATEST_ON_ITEM + 1);
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});

describe('items in the archive that the current code would not write', () => {
  it('updates an item an older version filled close to 400 KB by moving its log entries out', async () => {
    // Prepare: written directly, as an older version without bounds could have: 5 × 70 KB, one change
    // away from 420 KB.
    const { tableName, store, device, record } = await newArchive();
    const big = (label: string) => `${label} `.padEnd(70 * 1024, 'z');
    const stored = record('heavy', { status: 'S3', reason: big('S3') });
    const statusLog = Array.from({ length: 4 }, (_, index) => ({
      observedAt: `2025-01-0${index + 1}T00:00:00.000Z`,
      status: `S${index}`,
      reason: big(`S${index}`),
      upgradeStartTime: stored.upgradeStartTime,
      changedFields: index === 0 ? [] : ['status', 'reason'],
    }));
    await dynamo.client.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...upgradeKey(device, 'heavy'),
          ...stored,
          firstSeenAt: statusLog[0]!.observedAt,
          observedAt: statusLog[3]!.observedAt,
          statusLog,
          type: 'upgrade',
        },
      }),
    );
    const thingspace = thingSpaceAnswering([record('heavy', { status: 'S4', reason: big('S4') })]);

    // Act
    const answer = await getDeviceHistory(device, { thingspace, store, now: steppingClock() });
    const [log] = await store.listStatusLogs(device);

    // Assess
    expect(answer.archive).toMatchObject({ updated: 1, skipped: 0 });
    expect(log!.statusLog.map((entry) => entry.status)).toEqual(['S0', 'S1', 'S2', 'S3', 'S4']);
  });

  it('serves the readable records when some stored items are not readable upgrades', async () => {
    // Prepare
    const { tableName, store, warnings, device, record } = await newArchive();
    const kept = record('kept');
    const dependencies = { thingspace: thingSpaceAnswering([kept]), store, now: steppingClock() };
    await getDeviceHistory(device, dependencies);
    const put = (Item: Record<string, unknown>) => dynamo.client.send(new PutCommand({ TableName: tableName, Item }));
    await put({ ...upgradeKey(device, 'no-id'), status: 'UpgradeSuccess', type: 'upgrade' });
    await put({
      ...upgradeKey(device, 'odd-log'),
      ...record('odd-log'),
      statusLog: [null, 'text', 7, { observedAt: 5 }],
      type: 'upgrade',
    });
    await put({
      ...upgradeKey(device, 'huge'),
      ...record('huge', { firmwareFrom: 'f'.repeat(300 * 1024) }),
      statusLog: 'not a list',
      type: 'upgrade',
    });
    await put({ pk: upgradeKey(device, 'x').pk, sk: 'LOG#kept#broken', type: 'status-log' });
    dependencies.thingspace.records = [];

    // Act
    const answer = await getDeviceHistory(device, dependencies);
    const logs = await store.listStatusLogs(device);

    // Assess
    expect(ids(answer.records)).toEqual(['huge', 'kept', 'odd-log']);
    expect(logs.map((log) => log.upgradeId).sort()).toEqual(['huge', 'kept', 'odd-log']);
    expect(warnings.map((warning) => warning.attributes.count)).toEqual([1, 2]);
    const { Item } = await dynamo.client.send(
      new GetCommand({ TableName: tableName, Key: upgradeKey(device, 'no-id') }),
    );
    expect(Item).toBeDefined();
  });
});
