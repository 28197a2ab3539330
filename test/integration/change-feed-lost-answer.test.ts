import { describe, expect, it } from 'vitest';
import { DynamoDbHistoryStore } from '../../adapters/dynamodb/dynamodb-history-store';
import { ChangeEventEmittingStore } from '../../adapters/events/change-event-emitting-store';
import { planArchiveWrites } from '../../domain/archive-plan';
import { UPGRADE_OBSERVED, UPGRADE_STATUS_CHANGED, type ChangeEvent } from '../../domain/change-event';
import { useTestDynamoDb } from '../support/dynamodb';
import { upgradeRecord } from '../support/records';

const dynamo = useTestDynamoDb();
const device = { account: '0242078689-00001', deviceId: '990013907835574' };

/**
 * A put that reaches the store but whose answer is lost (here: turned into a throttling error after the
 * store applied it), so the store retries it and the retry fails its own condition. The write is in the
 * archive; on one machine, where no stream exists, its event must still be emitted, exactly once.
 */
describe('the one-machine change feed when a write lands but its answer is lost', () => {
  it('emits the event of that write once, for an insert and for an update', async () => {
    // Prepare: a client whose every first PutItem of an upgrade item answers "throttled" after landing
    const client = dynamo.createClient();
    const lost = new Set<string>();
    client.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const input = args.input as { Item?: { sk?: string; observedAt?: string } };
        const key = `${input.Item?.sk}@${input.Item?.observedAt}`;
        if (input.Item?.sk?.startsWith('UPGRADE#') && !lost.has(key)) {
          lost.add(key);
          throw Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' });
        }
        return result;
      },
      { step: 'initialize', name: 'loseFirstPutAnswer' },
    );
    const tableName = await dynamo.createTestTable();
    const inner = new DynamoDbHistoryStore({ client, tableName, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
    const events: ChangeEvent[] = [];
    const store = new ChangeEventEmittingStore(inner, { emit: (event) => events.push(event) });
    const failed = upgradeRecord({ deviceId: device.deviceId, id: 'lost-1', status: 'UpgradeFailed' });
    const observe = async (live: typeof failed, observedAt: string) =>
      store.applyWrites(device, planArchiveWrites([live], await store.listUpgrades(device), observedAt));

    // Act
    const inserted = await observe(failed, '2026-06-01T00:00:00.000Z');
    const updated = await observe({ ...failed, status: 'UpgradeSuccess' }, '2026-06-02T00:00:00.000Z');
    const unchanged = await observe({ ...failed, status: 'UpgradeSuccess' }, '2026-06-03T00:00:00.000Z');

    // Assess
    expect(lost.size).toBe(2);
    expect([inserted.inserted, updated.updated, unchanged.inserted + unchanged.updated]).toEqual([1, 1, 0]);
    expect(events.map((event) => [event['detail-type'], event.detail.observedAt])).toEqual([
      [UPGRADE_OBSERVED, '2026-06-01T00:00:00.000Z'],
      [UPGRADE_STATUS_CHANGED, '2026-06-02T00:00:00.000Z'],
    ]);
  });
});
