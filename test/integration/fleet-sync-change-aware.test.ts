import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  type SendMessageBatchCommandOutput,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbHistoryStore } from '../../adapters/dynamodb/dynamodb-history-store';
import type { DiscoveryCheckpoint } from '../../domain/ports';
import type { UpgradeRecord } from '../../domain/upgrade-record';
import { buildHistoryDependencies } from '../../functions/commons/history-dependencies';
import { makeHandler as makeDiscoveryHandler } from '../../functions/discover-fleet';
import { makeHandler as makeSyncHandler } from '../../functions/sync-devices';
import { startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { useTestDynamoDb } from '../support/dynamodb';
import { handlerConfig } from '../support/handler-environment';
import { lambdaContext, queueUrlOf, sqsEvent, sqsRecord } from '../support/lambda';
import { allAccepted } from '../support/sqs';

/**
 * The deployed fleet sync end to end on one machine: the discovery handler pages the simulator's device
 * list and selects devices into the (mocked) sync queue; its messages are handed to the sync-devices
 * handler, which asks the simulator and archives into dynalite. Continuations go back to discovery.
 */

const SYNC_QUEUE = 'fota-sync-queue';
const SYNC_QUEUE_URL = queueUrlOf(SYNC_QUEUE);
const DISCOVERY_QUEUE = 'fota-discovery-queue';
const DISCOVERY_QUEUE_URL = queueUrlOf(DISCOVERY_QUEUE);
const FULL_BUDGET_MS = 600_000;
const DAY_MS = 86_400_000;

const dynamo = useTestDynamoDb();
const sqs = mockClient(SQSClient);

let simulator: ThingSpaceSimulator;
let store: DynamoDbHistoryStore;
let discover: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
let sync: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
let accountNumber = 0;
/** Every SendMessageBatch entry body, per queue URL, in order. */
let sent: Map<string, unknown[]>;

function acceptAll(input: SendMessageBatchCommandInput): SendMessageBatchCommandOutput {
  const bodies = sent.get(input.QueueUrl ?? '') ?? [];
  for (const entry of input.Entries ?? []) bodies.push(JSON.parse(entry.MessageBody ?? 'null'));
  sent.set(input.QueueUrl ?? '', bodies);
  return allAccepted(input);
}

function take(queueUrl: string): unknown[] {
  const bodies = sent.get(queueUrl) ?? [];
  sent.set(queueUrl, []);
  return bodies;
}

beforeAll(async () => {
  simulator = await startThingSpaceSimulator({ pageSize: 5 });
  const tableName = await dynamo.createTestTable();
  store = new DynamoDbHistoryStore({ client: dynamo.client, tableName });
  const config = handlerConfig(
    { tableName, dynamoDbEndpoint: dynamo.endpoint, thingspaceUrl: simulator.url },
    {
      SYNC_QUEUE_URL,
      DISCOVERY_QUEUE_URL,
      DISCOVERY_DLQ_URL: queueUrlOf('fota-discovery-dlq'),
      SYNC_DLQ_URL: queueUrlOf('fota-sync-dlq'),
      FULL_RESYNC_DAYS: '7',
    },
  );
  // One execution environment's set, shared by both functions as the module singleton was.
  const workers = { history: buildHistoryDependencies(config), sqs: new SQSClient({}), queues: config.queues };
  discover = makeDiscoveryHandler(() => ({ ...workers, fullResyncDays: config.fullResyncDays }));
  sync = makeSyncHandler(() => workers);
});

afterAll(async () => {
  sqs.restore();
  await simulator.close();
});

beforeEach(() => {
  sent = new Map();
  sqs.reset();
  sqs.on(SendMessageBatchCommand).callsFake(acceptAll);
  sqs.on(SendMessageCommand).resolves({});
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
  simulator.reset();
});

function newAccount(): string {
  accountNumber += 1;
  return `00000009${String(accountNumber).padStart(2, '0')}-00001`;
}

/**
 * One discovery pass as the deployed stack runs it: the schedule's `{account}` message, then every
 * continuation the handler sends itself, until none is left. `pagesPerInvocation` pages fit in each.
 */
async function discoveryPass(
  body: Record<string, unknown>,
  pagesPerInvocation = 1000,
): Promise<{ invocations: number; syncMessages: unknown[] }> {
  let message: unknown = body;
  let invocations = 0;
  const syncMessages: unknown[] = [];
  while (message !== undefined) {
    invocations += 1;
    const listCallsBefore = simulator.stats().listCalls;
    // Time runs short once this invocation has fetched its pages: the handler must pause and continue itself.
    const context = lambdaContext(
      () => (simulator.stats().listCalls - listCallsBefore >= pagesPerInvocation ? 30_000 : FULL_BUDGET_MS),
      'discover-fleet',
    );
    const response = await discover(
      sqsEvent([sqsRecord(JSON.stringify(message), { queueName: DISCOVERY_QUEUE })]),
      context,
    );
    expect(response).toEqual({ batchItemFailures: [] });
    syncMessages.push(...take(SYNC_QUEUE_URL));
    const continuations = take(DISCOVERY_QUEUE_URL);
    expect(continuations.length).toBeLessThanOrEqual(1);
    message = continuations[0];
  }
  return { invocations, syncMessages };
}

/** Hands the sync messages to the sync worker in batches of ten, as the event source does. */
async function syncAll(messages: readonly unknown[]): Promise<void> {
  for (let start = 0; start < messages.length; start += 10) {
    const records = messages
      .slice(start, start + 10)
      .map((body) => sqsRecord(JSON.stringify(body), { queueName: SYNC_QUEUE }));
    expect(await sync(sqsEvent(records), lambdaContext(60_000, 'sync-devices'))).toEqual({ batchItemFailures: [] });
  }
}

function deviceIdsOf(messages: readonly unknown[]): string[] {
  return messages.map((body) => (body as { deviceId: string }).deviceId).sort();
}

function daysAgo(days: number): string {
  return new Date(Date.now() - days * DAY_MS).toISOString().slice(0, 10);
}

function record(
  account: string,
  deviceId: string,
  id: string,
  startDate: string,
  changes: Partial<UpgradeRecord> = {},
): UpgradeRecord {
  return {
    deviceId,
    id,
    accountName: account,
    firmwareFrom: 'FW-1',
    firmwareTo: 'FW-2',
    startDate,
    upgradeStartTime: `${startDate}T10:00:00Z`,
    status: 'UpgradeSuccess',
    reason: 'success',
    ...changes,
  };
}

async function checkpointOf(account: string): Promise<DiscoveryCheckpoint | undefined> {
  return store.getDiscoveryCheckpoint(account);
}

describe('discovery that finishes at any size', () => {
  it('drives one pass through more than 20 continuations to a finished run, enqueueing every device once', async () => {
    // Prepare: 120 devices, 5 a page = 24 pages, one page per invocation.
    const account = newAccount();
    const fleet = simulator.addSyntheticFleet(account, {
      size: 120,
      recordsPerDevice: 1,
      firstImeiBody: 35_100_000_000_000,
    });
    const deviceIds = Array.from({ length: 120 }, (_, index) => fleet.deviceIdAt(index));

    // Act
    const pass = await discoveryPass({ account }, 1);

    // Assess
    expect(pass.invocations).toBe(24);
    expect(pass.invocations - 1).toBeGreaterThanOrEqual(20);
    expect(deviceIdsOf(pass.syncMessages)).toEqual([...deviceIds].sort());
    expect(await checkpointOf(account)).toMatchObject({
      state: 'done',
      pagesDone: 24,
      devicesListed: 120,
      devicesEnqueued: 120,
      asked: { 'never-synced': 120 },
    });
    expect(simulator.stats().listCalls).toBe(24);
  });
});

describe('change-aware selection through the discovery and sync handlers', () => {
  it('asks only devices that can have changed, archives every new record, and never asks a never-upgraded device', async () => {
    // Prepare: one device per rule, plus an unchanged one and a never-upgraded one.
    const account = newAccount();
    const ids = {
      unchanged: '351000000000011',
      listChanged: '351000000000029',
      unfinished: '351000000000037',
      resyncDue: '351000000000045',
      neverUpgraded: '351000000000052',
      neverUpgradedArchived: '351000000000060',
      reasonOnly: '351000000000078',
    };
    simulator.setHistory(account, ids.unchanged, [record(account, ids.unchanged, 'u-1', daysAgo(60))]);
    simulator.setHistory(account, ids.listChanged, [record(account, ids.listChanged, 'l-1', daysAgo(90))]);
    simulator.setHistory(account, ids.unfinished, [
      record(account, ids.unfinished, 'f-1', daysAgo(20), {
        status: 'UpgradeFailed',
        reason: 'Device did not respond',
      }),
    ]);
    simulator.setHistory(account, ids.resyncDue, [record(account, ids.resyncDue, 'd-1', daysAgo(100))]);
    simulator.addDevice(account, ids.neverUpgraded);
    simulator.addDevice(account, ids.neverUpgradedArchived);
    simulator.setHistory(account, ids.reasonOnly, [record(account, ids.reasonOnly, 'r-1', daysAgo(30))]);
    // Archived earlier (e.g. before ThingSpace lost it): a never-upgraded list entry with an archive is asked.
    await store.applyWrites({ account, deviceId: ids.neverUpgradedArchived }, [
      {
        kind: 'insert',
        next: {
          record: record(account, ids.neverUpgradedArchived, 'old-1', '2020-01-01'),
          firstSeenAt: '2020-01-02T00:00:00.000Z',
          observedAt: '2020-01-02T00:00:00.000Z',
          statusLog: [],
        },
      },
    ]);

    // Act 1: the first pass.
    const first = await discoveryPass({ account });
    await syncAll(first.syncMessages);

    // Assess 1: everything but the never-upgraded device without an archive is new, so asked.
    expect(deviceIdsOf(first.syncMessages)).toEqual(
      [ids.unchanged, ids.listChanged, ids.unfinished, ids.resyncDue, ids.neverUpgradedArchived, ids.reasonOnly].sort(),
    );
    expect(await checkpointOf(account)).toMatchObject({
      devicesListed: 7,
      devicesEnqueued: 6,
      asked: { 'never-synced': 6 },
      skipped: { 'never-upgraded': 1 },
    });
    expect(await store.getSyncState({ account, deviceId: ids.neverUpgraded })).toMatchObject({
      outcome: 'success',
      archivedUpgrades: 0,
    });

    // Prepare 2: a new upgrade for one device (its list entry changes), a reason-only change for another
    // (its list entry does not), and a device whose last full sync is older than fullResyncDays.
    simulator.setHistory(account, ids.listChanged, [
      record(account, ids.listChanged, 'l-2', daysAgo(1), { firmwareFrom: 'FW-2', firmwareTo: 'FW-3' }),
      record(account, ids.listChanged, 'l-1', daysAgo(90)),
    ]);
    expect(simulator.updateRecord(account, ids.reasonOnly, 'r-1', { reason: 'success (confirmed)' })).toBe(true);
    const dueState = await store.getSyncState({ account, deviceId: ids.resyncDue });
    const eightDaysAgo = new Date(Date.now() - 8 * DAY_MS).toISOString();
    await store.recordSyncOutcome(
      { account, deviceId: ids.resyncDue },
      { ...dueState!, syncedAt: new Date().toISOString(), lastFullSyncAt: eightDaysAgo },
    );
    simulator.reset();

    // Act 2: the second pass.
    const second = await discoveryPass({ account });
    await syncAll(second.syncMessages);

    // Assess 2: only (b), (c) and (d) were asked; nothing else cost a history call.
    expect(await checkpointOf(account)).toMatchObject({
      devicesListed: 7,
      devicesEnqueued: 3,
      asked: { 'list-changed': 1, 'unfinished-upgrade': 1, 'full-resync-due': 1 },
      skipped: { unchanged: 3, 'never-upgraded': 1 },
    });
    expect(simulator.historyCallsFor(ids.listChanged)).toBe(1);
    expect(simulator.historyCallsFor(ids.unfinished)).toBe(1);
    expect(simulator.historyCallsFor(ids.resyncDue)).toBe(1);
    expect(simulator.stats().historyCalls).toBe(3);
    // Every new record of the changed device is archived.
    const archived = await store.listUpgrades({ account, deviceId: ids.listChanged });
    expect(archived.map((upgrade) => upgrade.record.id).sort()).toEqual(['l-1', 'l-2']);
    // The trade-off: a change that touches neither firmware nor upgradeTime waits for (c), (d) or a callback.
    const reasonOnly = await store.listUpgrades({ account, deviceId: ids.reasonOnly });
    expect(reasonOnly[0]?.record.reason).toBe('success');
    expect(await store.getSyncState({ account, deviceId: ids.resyncDue })).toMatchObject({ outcome: 'success' });

    // Act 3: a third pass over an unchanged fleet asks only (c), the upgrade that is still not final.
    simulator.reset();
    const third = await discoveryPass({ account });
    await syncAll(third.syncMessages);
    expect(deviceIdsOf(third.syncMessages)).toEqual([ids.unfinished]);
    expect(simulator.stats().historyCalls).toBe(1);

    // Act 4: a full pass asks everything except the never-upgraded device with nothing archived.
    simulator.reset();
    const full = await discoveryPass({ account, full: true });
    await syncAll(full.syncMessages);
    expect(await checkpointOf(account)).toMatchObject({
      full: true,
      devicesEnqueued: 6,
      asked: { 'full-pass': 6 },
      skipped: { 'never-upgraded': 1 },
    });
    expect(simulator.historyCallsFor(ids.neverUpgraded)).toBe(0);
    expect(simulator.stats().historyCalls).toBe(6);
    // The full pass caught the reason-only change.
    expect((await store.listUpgrades({ account, deviceId: ids.reasonOnly }))[0]?.record.reason).toBe(
      'success (confirmed)',
    );
  });

  it('asks a device once its unfinished upgrade turns into a success, and then no more', async () => {
    // Prepare
    const account = newAccount();
    const deviceId = '352000000000018';
    simulator.setHistory(account, deviceId, [
      record(account, deviceId, 'f-1', daysAgo(3), { status: 'UpgradeFailed', reason: 'Device did not respond' }),
    ]);
    await syncAll((await discoveryPass({ account })).syncMessages);

    // Act: ThingSpace turns the failure into a success (the list's firmware changes with it).
    expect(simulator.updateRecord(account, deviceId, 'f-1', { status: 'UpgradeSuccess', reason: 'success' })).toBe(
      true,
    );
    simulator.reset();
    const second = await discoveryPass({ account });
    await syncAll(second.syncMessages);
    simulator.reset();
    const third = await discoveryPass({ account });

    // Assess
    expect(deviceIdsOf(second.syncMessages)).toEqual([deviceId]);
    expect((await store.listUpgrades({ account, deviceId }))[0]?.record.status).toBe('UpgradeSuccess');
    expect(third.syncMessages).toEqual([]);
    expect(await checkpointOf(account)).toMatchObject({ skipped: { unchanged: 1 } });
  });
});
