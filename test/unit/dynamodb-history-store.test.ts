import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../adapters/dynamodb/client';
import { DynamoDbHistoryStore } from '../../adapters/dynamodb/dynamodb-history-store';
import { syncStateKey, upgradeKey } from '../../adapters/dynamodb/table-schema';
import {
  type ArchivedUpgrade,
  type ArchiveWrite,
  planArchiveWrites,
  planUpgradeWrite,
} from '../../domain/archive-plan';
import type { DeviceKey, UpgradeRecord } from '../../domain/upgrade-record';
import { fakeClock } from '../support/clock';
import { inProgressUpgrade } from '../support/records';

const device: DeviceKey = { account: '0242078689-00001', deviceId: '990013907835573' };
const dynamo = mockClient(DynamoDBDocumentClient);

const upgrade = (id: string, overrides: Partial<UpgradeRecord> = {}) => inProgressUpgrade(device, id, overrides);

function conditionFailed() {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
}

function newStore(clock = fakeClock()) {
  return new DynamoDbHistoryStore({
    client: createDocumentClient({ region: 'us-east-1' }),
    tableName: 'history',
    retry: { baseDelayMs: 10, maxDelayMs: 100, defaultBudgetMs: 5_000 },
    sleep: clock.sleep,
    now: clock.now,
  });
}

/** The item as DynamoDB would hold it: the table's layout, written out by hand. */
function itemOf(archived: ArchivedUpgrade): Record<string, unknown> {
  return {
    ...upgradeKey(device, archived.record.id),
    ...archived.record,
    firstSeenAt: archived.firstSeenAt,
    observedAt: archived.observedAt,
    statusLog: archived.statusLog,
    type: 'upgrade',
  };
}

const firstSighting = (record: UpgradeRecord, observedAt = '2024-05-02T00:00:00.000Z') =>
  planUpgradeWrite(record, undefined, observedAt) as ArchiveWrite;

beforeEach(() => {
  dynamo.reset();
});

// Throttling is the SDK's to retry, so it is tested over HTTP: test/integration/dynamodb-throttling.test.ts.
describe('DynamoDbHistoryStore.applyWrites failures', () => {
  it('skips, without retrying, a record DynamoDB refuses for good, and logs only its id', async () => {
    // Prepare
    const clock = fakeClock();
    const warnings: Array<{ message: string; attributes: Record<string, unknown> }> = [];
    const invalid = Object.assign(new Error('Item size has exceeded the maximum allowed size'), {
      name: 'ValidationException',
    });
    dynamo.on(PutCommand).rejectsOnce(invalid).resolves({});
    const store = new DynamoDbHistoryStore({
      client: createDocumentClient({ region: 'us-east-1' }),
      tableName: 'history',
      sleep: clock.sleep,
      now: clock.now,
      logger: { warn: (message, attributes) => warnings.push({ message, attributes }) },
    });

    // Act
    const result = await store.applyWrites(device, [
      firstSighting(upgrade('poison', { reason: 'secret-ish content' })),
      firstSighting(upgrade('fine')),
    ]);

    // Assess
    expect(result).toEqual({ inserted: 1, updated: 0, unchanged: 0, skipped: 1 });
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(2);
    expect(clock.sleeps).toHaveLength(0);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.attributes).toMatchObject({ upgradeId: 'poison', errorName: 'ValidationException' });
    expect(JSON.stringify(warnings)).not.toContain('secret-ish content');
  });

  it('fails the whole call on an error that is neither throttling nor a refusal of the item', async () => {
    // Prepare
    const clock = fakeClock();
    const timedOut = Object.assign(new Error('a request has exceeded the configured requestTimeout'), {
      name: 'TimeoutError',
    });
    dynamo.on(PutCommand).rejects(timedOut);

    // Act
    const attempt = newStore(clock).applyWrites(device, [firstSighting(upgrade('upg-1'))]);

    // Assess
    await expect(attempt).rejects.toBe(timedOut);
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(1);
  });
});

describe('DynamoDbHistoryStore.applyWrites conditional writes', () => {
  it('sends inserts conditional on absence and updates conditional on the planned-against observation', async () => {
    // Prepare
    dynamo.on(PutCommand).resolves({});
    const stored = firstSighting(upgrade('upg-1')).next;
    const update = planUpgradeWrite(
      upgrade('upg-1', { status: 'UpgradeSuccess' }),
      stored,
      '2024-05-03T00:00:00.000Z',
    )!;

    // Act
    const result = await newStore().applyWrites(device, [firstSighting(upgrade('upg-2')), update]);

    // Assess
    expect(result).toEqual({ inserted: 1, updated: 1, unchanged: 0, skipped: 0 });
    const inputs = dynamo.commandCalls(PutCommand).map((call) => call.args[0].input);
    const insertInput = inputs.find((input) => input.Item?.id === 'upg-2')!;
    const updateInput = inputs.find((input) => input.Item?.id === 'upg-1')!;
    expect(insertInput.ConditionExpression).toBe('attribute_not_exists(#pk)');
    expect(insertInput.Item).toMatchObject({ ...upgradeKey(device, 'upg-2'), type: 'upgrade', reason: '' });
    expect(updateInput.ConditionExpression).toBe('#observedAt = :expectedObservedAt');
    expect(updateInput.ExpressionAttributeValues).toEqual({ ':expectedObservedAt': '2024-05-02T00:00:00.000Z' });
  });

  it('re-reads and counts as unchanged an insert another writer already made', async () => {
    // Prepare
    const write = firstSighting(upgrade('upg-1'));
    dynamo.on(PutCommand).rejects(conditionFailed());
    dynamo.on(GetCommand).resolves({ Item: itemOf(write.next) });

    // Act
    const result = await newStore().applyWrites(device, [write]);

    // Assess
    expect(result).toEqual({ inserted: 0, updated: 0, unchanged: 1, skipped: 0 });
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(1);
    expect(dynamo.commandCalls(GetCommand)[0]!.args[0].input).toMatchObject({
      Key: upgradeKey(device, 'upg-1'),
      ConsistentRead: true,
    });
  });

  it('passes one abort signal, bound to the deadline, to the write and to the re-read after a lost race', async () => {
    // Prepare
    const write = firstSighting(upgrade('upg-1'));
    dynamo.on(PutCommand).rejects(conditionFailed());
    dynamo.on(GetCommand).resolves({ Item: itemOf(write.next) });

    // Act
    await newStore().applyWrites(device, [write], { deadline: Date.now() + 60_000 });

    // Assess
    const signals = [...dynamo.commandCalls(PutCommand), ...dynamo.commandCalls(GetCommand)].map(
      (call) => (call.args as unknown[])[1] as { abortSignal?: AbortSignal } | undefined,
    );
    expect(signals).toHaveLength(2);
    for (const options of signals) expect(options?.abortSignal).toBeInstanceOf(AbortSignal);
    expect(signals[0]!.abortSignal).toBe(signals[1]!.abortSignal);
    expect(signals[0]!.abortSignal!.aborted).toBe(false);
  });

  it('re-plans a lost race into an update on top of what the other writer stored', async () => {
    // Prepare: another writer inserted the in-progress state first; this writer saw the success.
    const othersWrite = firstSighting(upgrade('upg-1'), '2024-05-02T00:00:00.000Z');
    const myWrite = firstSighting(upgrade('upg-1', { status: 'UpgradeSuccess' }), '2024-05-03T00:00:00.000Z');
    dynamo.on(PutCommand).rejectsOnce(conditionFailed()).resolves({});
    dynamo.on(GetCommand).resolves({ Item: itemOf(othersWrite.next) });

    // Act
    const result = await newStore().applyWrites(device, [myWrite]);

    // Assess
    expect(result).toEqual({ inserted: 0, updated: 1, unchanged: 0, skipped: 0 });
    const retried = dynamo.commandCalls(PutCommand)[1]!.args[0].input;
    expect(retried.ExpressionAttributeValues).toEqual({ ':expectedObservedAt': '2024-05-02T00:00:00.000Z' });
    expect(retried.Item).toMatchObject({ status: 'UpgradeSuccess', firstSeenAt: '2024-05-02T00:00:00.000Z' });
    expect((retried.Item?.statusLog as unknown[]).length).toBe(2);
  });

  it('re-plans into an insert when the item it meant to update is gone', async () => {
    // Prepare
    const stored = firstSighting(upgrade('upg-1')).next;
    const update = planUpgradeWrite(
      upgrade('upg-1', { status: 'UpgradeSuccess' }),
      stored,
      '2024-05-03T00:00:00.000Z',
    )!;
    dynamo.on(PutCommand).rejectsOnce(conditionFailed()).resolves({});
    dynamo.on(GetCommand).resolves({});

    // Act
    const result = await newStore().applyWrites(device, [update]);

    // Assess
    expect(result).toEqual({ inserted: 1, updated: 0, unchanged: 0, skipped: 0 });
    expect(dynamo.commandCalls(PutCommand)[1]!.args[0].input.ConditionExpression).toBe('attribute_not_exists(#pk)');
  });
});

describe('DynamoDbHistoryStore.applyWrites concurrency', () => {
  it('keeps only a few writes in flight however many are planned', async () => {
    // Prepare
    let inFlight = 0;
    let mostInFlight = 0;
    dynamo.on(PutCommand).callsFake(async () => {
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
      return {};
    });
    const records = Array.from({ length: 40 }, (_, index) => upgrade(`upg-${index}`));

    // Act
    const result = await newStore().applyWrites(device, planArchiveWrites(records, [], '2024-05-02T00:00:00.000Z'));

    // Assess
    expect(result.inserted).toBe(40);
    expect(mostInFlight).toBeGreaterThan(1);
    expect(mostInFlight).toBeLessThanOrEqual(8);
  });
});

describe('DynamoDbHistoryStore.listUpgrades', () => {
  it('follows LastEvaluatedKey through every page and returns only the nine record fields', async () => {
    // Prepare
    const [first, second] = planArchiveWrites([upgrade('upg-1'), upgrade('upg-2')], [], '2024-05-02T00:00:00.000Z');
    const pageBoundary = upgradeKey(device, 'upg-1');
    dynamo
      .on(QueryCommand)
      .resolvesOnce({ Items: [itemOf(first!.next)], LastEvaluatedKey: pageBoundary })
      .resolvesOnce({ Items: [{ ...itemOf(second!.next), leaked: 'not a record field' }] });

    // Act
    const listed = await newStore().listUpgrades(device);

    // Assess
    expect(listed).toEqual([first!.next, second!.next]);
    const queries = dynamo.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries).toHaveLength(2);
    expect(queries[0]!.ExclusiveStartKey).toBeUndefined();
    expect(queries[1]!.ExclusiveStartKey).toEqual(pageBoundary);
    expect(queries[0]!.ExpressionAttributeValues).toEqual({
      ':pk': `DEVICE#${device.account}#${device.deviceId}`,
      ':prefix': 'UPGRADE#',
    });
  });
});

describe('DynamoDbHistoryStore sync state and checkpoints', () => {
  it('ignores an outcome older than the stored one', async () => {
    // Prepare
    dynamo.on(PutCommand).rejects(conditionFailed());

    // Act
    const recording = newStore().recordSyncOutcome(device, {
      syncedAt: '2024-05-02T00:00:00.000Z',
      outcome: 'success',
    });

    // Assess
    await expect(recording).resolves.toBeUndefined();
    expect(dynamo.commandCalls(PutCommand)[0]!.args[0].input.ConditionExpression).toContain('#syncedAt < :syncedAt');
  });

  it('reports a checkpoint another writer advanced first as not saved', async () => {
    // Prepare
    dynamo.on(PutCommand).rejects(conditionFailed());
    const checkpoint = {
      account: device.account,
      runId: 'run-1',
      startedAt: '2024-05-02T00:00:00.000Z',
      nextIndex: '0',
      pagesDone: 0,
      devicesEnqueued: 0,
      state: 'running' as const,
      updatedAt: '2024-05-02T00:00:00.000Z',
    };

    // Act
    const saved = await newStore().saveDiscoveryCheckpoint({ ...checkpoint, pagesDone: 1 }, checkpoint);

    // Assess
    expect(saved).toBe(false);
  });

  it('asks again, after a wait, for the sync states BatchGetItem left unprocessed', async () => {
    // Prepare
    const clock = fakeClock();
    const other = { ...device, deviceId: '990013907835581' };
    const stateItem = (key: typeof device) => ({
      ...syncStateKey(key),
      ...key,
      syncedAt: '2024-05-02T00:00:00.000Z',
      outcome: 'success',
    });
    dynamo
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { history: [stateItem(device)] },
        UnprocessedKeys: { history: { Keys: [syncStateKey(other)] } },
      })
      .resolvesOnce({ Responses: { history: [stateItem(other)] } });

    // Act
    const states = await newStore(clock).getSyncStates(device.account, [device.deviceId, other.deviceId]);

    // Assess
    expect([...states.keys()].sort()).toEqual([device.deviceId, other.deviceId].sort());
    expect(dynamo.commandCalls(BatchGetCommand)[1]!.args[0].input.RequestItems?.history?.Keys).toEqual([
      syncStateKey(other),
    ]);
    expect(clock.sleeps).toEqual([20]);
  });

  it('gives up on sync states still unprocessed before a wait would pass the deadline', async () => {
    // Prepare
    const clock = fakeClock();
    dynamo.on(BatchGetCommand).resolves({ UnprocessedKeys: { history: { Keys: [syncStateKey(device)] } } });
    const deadline = clock.now() + 100;

    // Act
    const reading = newStore(clock).getSyncStates(device.account, [device.deviceId], { deadline });

    // Assess: waits of 20, 40 ms; the next 80 would end past the deadline.
    await expect(reading).rejects.toThrow('unprocessed until the deadline');
    expect(clock.sleeps).toEqual([20, 40]);
    expect(clock.now()).toBeLessThan(deadline);
  });
});
