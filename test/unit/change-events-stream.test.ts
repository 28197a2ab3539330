import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { syncStateToItem, upgradeToItem } from '../../adapters/dynamodb/item-mapping';
import { changeEventForWrite } from '../../adapters/events/change-event-emitting-store';
import {
  EventBridgePublisher,
  PUT_EVENTS_MAX_BYTES,
  putEventsEntrySize,
} from '../../adapters/events/eventbridge-publisher';
import { type ArchiveWrite, planUpgradeWrite } from '../../domain/archive-plan';
import {
  CHANGE_EVENT_SOURCE,
  type ChangeEvent,
  UPGRADE_OBSERVED,
  UPGRADE_STATUS_CHANGED,
} from '../../domain/change-event';
import { RECORD_LIMITS, screenUpgradeRecord } from '../../domain/upstream-record';
import { buildPublisherDependencies, changeEventOfRecord, makeHandler } from '../../functions/publish-change-events';
import { lambdaContext } from '../support/lambda';
import { TEST_ACCOUNT, upgradeRecord } from '../support/records';

const device = { account: TEST_ACCOUNT, deviceId: '990000473475989' };
const failed = upgradeRecord({
  deviceId: device.deviceId,
  id: 'u-1',
  status: 'UpgradeFailed',
  reason: 'Device did not respond',
});
const succeeded = { ...failed, status: 'UpgradeSuccess', reason: 'success', upgradeStartTime: '2026-06-02T08:00:00Z' };
const T1 = '2026-06-01T11:00:00.000Z';
const T2 = '2026-06-02T09:00:00.000Z';

const insert = planUpgradeWrite(failed, undefined, T1)!;
const update = planUpgradeWrite(succeeded, insert.next, T2)!;

let sequence = 100;
/** A stream record as Lambda delivers it from a NEW_AND_OLD_IMAGES stream: marshalled images. */
function streamRecord(
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  oldItem?: Record<string, unknown>,
  newItem?: Record<string, unknown>,
): DynamoDBRecord {
  sequence += 1;
  const options = { removeUndefinedValues: true, convertClassInstanceToMap: true };
  return {
    eventName,
    eventSource: 'aws:dynamodb',
    dynamodb: {
      SequenceNumber: String(sequence),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
      ...(oldItem ? { OldImage: marshall(oldItem, options) as never } : {}),
      ...(newItem ? { NewImage: marshall(newItem, options) as never } : {}),
    },
  };
}

const insertRecord = () => streamRecord('INSERT', undefined, upgradeToItem(device, insert.next));
const updateRecord = () =>
  streamRecord('MODIFY', upgradeToItem(device, insert.next), upgradeToItem(device, update.next));

describe('stream record -> change event', () => {
  it('maps an inserted upgrade item to "FOTA Upgrade Observed" with the nine fields and a stable id', () => {
    const event = changeEventOfRecord(insertRecord());
    expect(event).toEqual({
      source: CHANGE_EVENT_SOURCE,
      'detail-type': UPGRADE_OBSERVED,
      time: T1,
      detail: {
        eventId: `${TEST_ACCOUNT}/${device.deviceId}/u-1/${T1}`,
        account: TEST_ACCOUNT,
        deviceId: device.deviceId,
        observedAt: T1,
        upgrade: failed,
        changedFields: [],
      },
    });
    expect(changeEventOfRecord(insertRecord())?.detail.eventId).toBe(event?.detail.eventId);
  });

  it('maps an upgrade item with a new observedAt to "FOTA Upgrade Status Changed" with the previous state', () => {
    const event = changeEventOfRecord(updateRecord());
    expect(event?.['detail-type']).toBe(UPGRADE_STATUS_CHANGED);
    expect(event?.detail).toEqual({
      eventId: `${TEST_ACCOUNT}/${device.deviceId}/u-1/${T2}`,
      account: TEST_ACCOUNT,
      deviceId: device.deviceId,
      observedAt: T2,
      upgrade: succeeded,
      previous: {
        status: 'UpgradeFailed',
        reason: 'Device did not respond',
        upgradeStartTime: failed.upgradeStartTime,
      },
      changedFields: ['upgradeStartTime', 'status', 'reason'],
    });
  });

  it('ignores a rewrite of the same version, removals and every item that is not an upgrade', () => {
    const same = upgradeToItem(device, insert.next);
    const withExtraAttribute = { ...same, gsi1pk: 'added later' };
    const sync = syncStateToItem(device, { syncedAt: T1, outcome: 'success', upgradesSeen: 1 });
    const logItem = { pk: same.pk, sk: `LOG#u-1#${T1}`, type: 'status-log', observedAt: T1, status: 'x' };

    expect(changeEventOfRecord(streamRecord('MODIFY', same, withExtraAttribute))).toBeUndefined();
    expect(changeEventOfRecord(streamRecord('REMOVE', same, undefined))).toBeUndefined();
    expect(changeEventOfRecord(streamRecord('INSERT', undefined, sync))).toBeUndefined();
    expect(changeEventOfRecord(streamRecord('MODIFY', sync, { ...sync, syncedAt: T2 }))).toBeUndefined();
    expect(changeEventOfRecord(streamRecord('INSERT', undefined, logItem))).toBeUndefined();
    expect(
      changeEventOfRecord(streamRecord('INSERT', undefined, { pk: 'LOGIN#x', sk: 'GUARD', type: 'login-guard' })),
    ).toBeUndefined();
  });

  it('gives the same event as the one-machine feed for the same write, so the two cannot drift', () => {
    const writes: ArchiveWrite[] = [insert, update];
    const records = [insertRecord(), updateRecord()];
    writes.forEach((write, index) => {
      expect(changeEventOfRecord(records[index]!)).toEqual(changeEventForWrite(device, write));
    });
  });
});

const EVENT_BUS = 'arn:aws:events:us-east-1:123456789012:event-bus/default';

describe('publish-change-events handler', () => {
  const eventBridge = mockClient(EventBridgeClient);
  let handler: (
    event: DynamoDBStreamEvent,
    context: ReturnType<typeof lambdaContext>,
  ) => Promise<{ batchItemFailures: Array<{ itemIdentifier: string }> }>;

  beforeAll(async () => {
    const dependencies = buildPublisherDependencies(EVENT_BUS);
    handler = makeHandler(() => dependencies);
  });

  beforeEach(() => eventBridge.reset());

  it('puts one EventBridge entry per insert and per change, on the configured bus, and none for other items', async () => {
    // Prepare
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
      FailedEntryCount: 0,
      Entries: input.Entries.map((_, index) => ({ EventId: `e-${index}` })),
    }));
    const sync = syncStateToItem(device, { syncedAt: T1, outcome: 'success' });

    // Act
    const result = await handler(
      { Records: [insertRecord(), streamRecord('INSERT', undefined, sync), updateRecord()] },
      lambdaContext(),
    );

    // Assess
    expect(result.batchItemFailures).toEqual([]);
    const entries = eventBridge.commandCalls(PutEventsCommand).flatMap((call) => call.args[0].input.Entries ?? []);
    expect(entries.map((entry) => [entry.Source, entry.DetailType, entry.EventBusName])).toEqual([
      [CHANGE_EVENT_SOURCE, UPGRADE_OBSERVED, EVENT_BUS],
      [CHANGE_EVENT_SOURCE, UPGRADE_STATUS_CHANGED, EVENT_BUS],
    ]);
    expect(JSON.parse(entries[1]!.Detail!)).toMatchObject({ previous: { status: 'UpgradeFailed' } });
  });

  it('re-sends entries PutEvents reported as failed, and reports the records still failing from the first one', async () => {
    // Prepare: the second entry fails every time (e.g. throttled for longer than the retries last).
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: Array<{ DetailType: string }> }) => ({
      FailedEntryCount: input.Entries.filter((entry) => entry.DetailType === UPGRADE_STATUS_CHANGED).length,
      Entries: input.Entries.map((entry, index) =>
        entry.DetailType === UPGRADE_STATUS_CHANGED
          ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }
          : { EventId: `e-${index}` },
      ),
    }));
    const records = [insertRecord(), updateRecord(), insertRecord()];

    // Act
    const result = await handler({ Records: records }, lambdaContext());

    // Assess: the update and everything after it go back to the stream; the first insert was delivered.
    expect(result.batchItemFailures).toEqual([
      { itemIdentifier: records[1]!.dynamodb!.SequenceNumber },
      { itemIdentifier: records[2]!.dynamodb!.SequenceNumber },
    ]);
    expect(eventBridge.commandCalls(PutEventsCommand).length).toBeGreaterThan(1);
  });
});

describe('EventBridgePublisher', () => {
  const eventBridge = mockClient(EventBridgeClient);
  beforeEach(() => eventBridge.reset());

  it('delivers a partially failed batch on a later round and sends at most ten entries per call', async () => {
    // Prepare: the first call fails its first entry, later calls succeed.
    let calls = 0;
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => {
      calls += 1;
      return {
        FailedEntryCount: calls === 1 ? 1 : 0,
        Entries: input.Entries.map((_, index) =>
          calls === 1 && index === 0 ? { ErrorCode: 'InternalFailure' } : { EventId: `e-${index}` },
        ),
      };
    });
    const publisher = new EventBridgePublisher({
      client: new EventBridgeClient({ region: 'us-east-1' }),
      eventBusName: 'default',
      sleep: async () => undefined,
    });
    const event = changeEventForWrite(device, insert)!;

    // Act
    const failedPositions = await publisher.publish(Array.from({ length: 12 }, () => event));

    // Assess
    expect(failedPositions).toEqual([]);
    const sizes = eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries?.length);
    expect(sizes).toEqual([10, 1, 2]);
  });

  it('returns the events that never got through, whether refused or the call itself failed', async () => {
    eventBridge.on(PutEventsCommand).rejects(new Error('network down'));
    const publisher = new EventBridgePublisher({
      client: new EventBridgeClient({ region: 'us-east-1' }),
      eventBusName: 'default',
      sleep: async () => undefined,
      maxRounds: 2,
    });
    const event = changeEventForWrite(device, insert)!;

    expect(await publisher.publish([event, event])).toEqual([0, 1]);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(2);
  });

  it('keeps the largest event the record rules allow under a tenth of a PutEvents call', async () => {
    // Prepare: every free-text field at its longest, in the character JSON escapes the longest (\u0001:
    // 6 bytes), ids and times at their longest, for both the new and the previous version.
    const worst = (length: number, char: string) => char.repeat(length);
    const longest = (char: string) => ({
      deviceId: '9900004734759891',
      id: worst(64, 'a'),
      accountName: '02420786890242078689-0000100001',
      firmwareFrom: worst(RECORD_LIMITS.firmwareLength, char),
      firmwareTo: worst(RECORD_LIMITS.firmwareLength, char),
      startDate: '2026-06-01',
      upgradeStartTime: `2026-06-01T${worst(29, '0')}`,
      status: worst(RECORD_LIMITS.statusLength, char),
      reason: worst(RECORD_LIMITS.reasonLength, char),
    });
    const key = { account: '02420786890242078689-0000100001', deviceId: '9900004734759891' };
    const before = screenUpgradeRecord(longest('\u0001'), key);
    const after = screenUpgradeRecord(longest('\u0002'), key);
    if (before.reason !== undefined || after.reason !== undefined)
      throw new Error(`the record rules refuse it: ${before.reason ?? after.reason}`);
    const first = planUpgradeWrite(before.record, undefined, T1)!;
    const event = changeEventForWrite(key, planUpgradeWrite(after.record, first.next, T2)!)!;
    eventBridge
      .on(PutEventsCommand)
      .callsFake((input: { Entries: unknown[] }) => ({ Entries: input.Entries.map(() => ({ EventId: 'e' })) }));
    const publisher = new EventBridgePublisher({
      client: new EventBridgeClient({ region: 'us-east-1' }),
      eventBusName: 'default',
      sleep: async () => undefined,
    });

    // Act
    expect(await publisher.publish(Array.from({ length: 10 }, () => event))).toEqual([]);

    // Assess: ten of them fit one call, which is what the publisher sends
    const entries = eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries ?? []);
    expect(entries.map((call) => call.length)).toEqual([10]);
    expect(JSON.parse(entries[0]![0]!.Detail!)).toEqual(event.detail);
    expect(putEventsEntrySize(entries[0]![0]!) * 10).toBeLessThan(PUT_EVENTS_MAX_BYTES);
  });

  it('splits calls at 256 KB, and reports an event too large for any call as failed, never as sent', async () => {
    // Prepare: events larger than the record rules allow (the publisher does not rely on those rules)
    eventBridge
      .on(PutEventsCommand)
      .callsFake((input: { Entries: unknown[] }) => ({ Entries: input.Entries.map(() => ({ EventId: 'e' })) }));
    const publisher = new EventBridgePublisher({
      client: new EventBridgeClient({ region: 'us-east-1' }),
      eventBusName: 'default',
      sleep: async () => undefined,
    });
    const base = changeEventForWrite(device, insert)!;
    const withReason = (bytes: number): ChangeEvent => ({
      ...base,
      detail: { ...base.detail, upgrade: { ...base.detail.upgrade, reason: 'r'.repeat(bytes) } },
    });
    const events = [withReason(100_000), withReason(100_000), withReason(100_000), withReason(300_000), withReason(10)];

    // Act
    const failedPositions = await publisher.publish(events);

    // Assess
    expect(failedPositions).toEqual([3]);
    const calls = eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries ?? []);
    expect(calls.map((entries) => entries.length)).toEqual([2, 1, 1]);
    for (const entries of calls) {
      expect(entries.reduce((total, entry) => total + putEventsEntrySize(entry), 0)).toBeLessThanOrEqual(
        PUT_EVENTS_MAX_BYTES,
      );
    }
  });
});
