import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbHistoryStore } from '../../adapters/dynamodb/dynamodb-history-store';
import { createThingSpaceClient } from '../../adapters/thingspace/client';
import type { ThingSpaceApi } from '../../domain/ports';
import { isThingSpaceError } from '../../domain/thingspace-error';
import type { DeviceKey } from '../../domain/upgrade-record';
import { DEMO_CREDENTIALS, startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { type DeviceSyncQueue, discoverFleet } from '../../services/discover-fleet';
import { useTestDynamoDb } from '../support/dynamodb';
import { upgradeRecord } from '../support/records';

const ACCOUNT = '0000000042-00001';
const FLEET_SIZE = 350;
const PAGE_SIZE = 100;
/** 100 + 100 + 100 + 50. */
const PAGES = 4;
const LIST_PATH = `/api/fota/v1/devices/${ACCOUNT}/index/`;

const dynamo = useTestDynamoDb();

let simulator: ThingSpaceSimulator;
let fleet: { deviceIdAt(index: number): string };
let thingspace: ThingSpaceApi;
let store: DynamoDbHistoryStore;

/** The sync queue as discovery sees it, remembering every enqueue call in order. */
class RecordingQueue implements DeviceSyncQueue {
  readonly batches: DeviceKey[][] = [];
  async enqueue(devices: readonly DeviceKey[]): Promise<void> {
    this.batches.push([...devices]);
  }
  /** The device keys enqueued (each request also carries its device-list entry). */
  get devices(): DeviceKey[] {
    return this.batches.flat().map(({ account, deviceId }) => ({ account, deviceId }));
  }
}

/** The startIndex of every device-list call the simulator answered, in order. */
function listedStartIndexes(): string[] {
  return simulator
    .requests()
    .filter((request) => request.path.startsWith(LIST_PATH))
    .map((request) => decodeURIComponent(request.path.slice(LIST_PATH.length)));
}

function allDeviceIds(): string[] {
  return Array.from({ length: FLEET_SIZE }, (_, index) => fleet.deviceIdAt(index));
}

beforeEach(async () => {
  simulator = await startThingSpaceSimulator({ pageSize: PAGE_SIZE });
  fleet = simulator.addSyntheticFleet(ACCOUNT, { size: FLEET_SIZE, recordsPerDevice: 1 });
  thingspace = createThingSpaceClient({
    baseUrl: simulator.url,
    credentials: async () => DEMO_CREDENTIALS,
    maxAttempts: 2,
    baseDelayMs: 1,
    maxDelayMs: 5,
    timeoutMs: 2_000,
  });
  store = new DynamoDbHistoryStore({
    client: dynamo.client,
    tableName: await dynamo.createTestTable(),
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
  });
});

afterEach(async () => {
  await simulator.close();
});

describe('discoverFleet against the simulator and dynalite', () => {
  it('enqueues every device once, page by page in order, with one list call per page', async () => {
    // Prepare
    const queue = new RecordingQueue();

    // Act
    const outcome = await discoverFleet(ACCOUNT, { thingspace, store, syncQueue: queue }, { runId: 'run-1' });

    // Assess
    expect(outcome.state).toBe('done');
    expect(outcome.checkpoint).toMatchObject({ pagesDone: PAGES, devicesEnqueued: FLEET_SIZE, state: 'done' });
    expect(queue.devices).toEqual(allDeviceIds().map((deviceId) => ({ account: ACCOUNT, deviceId })));
    expect(queue.batches.map((batch) => batch.length)).toEqual([100, 100, 100, 50]);
    expect(simulator.stats().listCalls).toBe(PAGES);
    expect(listedStartIndexes()).toEqual(['0', fleet.deviceIdAt(99), fleet.deviceIdAt(199), fleet.deviceIdAt(299)]);
    expect(await store.getDiscoveryCheckpoint(ACCOUNT)).toEqual(outcome.checkpoint);
  });

  it('resumes a pass that failed on page 3 from page 3 when retried with the same runId', async () => {
    // Prepare: every attempt at page 3 fails (the client tries twice).
    const queue = new RecordingQueue();
    const failPage3 = {
      onPage: (checkpoint: { pagesDone: number }) => {
        if (checkpoint.pagesDone === 2) simulator.failNext(2, 503);
      },
    };
    const failure = await discoverFleet(
      ACCOUNT,
      { thingspace, store, syncQueue: queue },
      { runId: 'run-1', ...failPage3 },
    ).then(
      () => undefined,
      (error: unknown) => error,
    );
    const listCallsBeforeRetry = simulator.stats().listCalls;
    const checkpointAfterFailure = await store.getDiscoveryCheckpoint(ACCOUNT);

    // Act
    const outcome = await discoverFleet(ACCOUNT, { thingspace, store, syncQueue: queue }, { runId: 'run-1' });

    // Assess
    expect(isThingSpaceError(failure)).toBe(true);
    expect(listCallsBeforeRetry).toBe(2 + 2);
    expect(checkpointAfterFailure).toMatchObject({
      runId: 'run-1',
      pagesDone: 2,
      state: 'running',
      nextIndex: fleet.deviceIdAt(199),
    });
    expect(outcome.state).toBe('done');
    expect(outcome.checkpoint).toMatchObject({ pagesDone: PAGES, devicesEnqueued: FLEET_SIZE });
    // Pages 1 and 2 were not fetched again: after the two failed attempts, only pages 3 and 4.
    expect(simulator.stats().listCalls - listCallsBeforeRetry).toBe(2);
    expect(listedStartIndexes()).toEqual([
      '0',
      fleet.deviceIdAt(99),
      fleet.deviceIdAt(199),
      fleet.deviceIdAt(199),
      fleet.deviceIdAt(199),
      fleet.deviceIdAt(299),
    ]);
    expect(queue.devices.map((device) => device.deviceId)).toEqual(allDeviceIds());
  });

  it('skips a new runId while another pass is running, and leaves that pass alone', async () => {
    // Prepare: run-1 pauses after one page, so it is still running.
    const queue = new RecordingQueue();
    let pages = 0;
    await discoverFleet(
      ACCOUNT,
      { thingspace, store, syncQueue: queue },
      {
        runId: 'run-1',
        shouldContinue: () => pages < 1,
        onPage: () => (pages += 1),
      },
    );
    const listCallsBefore = simulator.stats().listCalls;

    // Act
    const outcome = await discoverFleet(ACCOUNT, { thingspace, store, syncQueue: queue }, { runId: 'run-2' });

    // Assess
    expect(outcome).toMatchObject({ state: 'skipped', reason: 'another-pass-running' });
    expect(simulator.stats().listCalls).toBe(listCallsBefore);
    expect(queue.devices).toHaveLength(PAGE_SIZE);
    expect(await store.getDiscoveryCheckpoint(ACCOUNT)).toMatchObject({
      runId: 'run-1',
      pagesDone: 1,
      state: 'running',
    });
  });

  it('pauses at a page boundary when shouldContinue says no, and the same runId carries on', async () => {
    // Prepare
    const queue = new RecordingQueue();
    let pagesThisInvocation = 0;
    const twoPagesAtATime = {
      shouldContinue: () => pagesThisInvocation < 2,
      onPage: () => (pagesThisInvocation += 1),
    };

    // Act
    const first = await discoverFleet(
      ACCOUNT,
      { thingspace, store, syncQueue: queue },
      { runId: 'run-1', ...twoPagesAtATime },
    );
    const listCallsAfterFirst = simulator.stats().listCalls;
    pagesThisInvocation = 0;
    const second = await discoverFleet(
      ACCOUNT,
      { thingspace, store, syncQueue: queue },
      { runId: 'run-1', ...twoPagesAtATime },
    );

    // Assess
    expect(first).toMatchObject({
      state: 'paused',
      checkpoint: { pagesDone: 2, devicesEnqueued: 200, state: 'running' },
    });
    expect(listCallsAfterFirst).toBe(2);
    expect(second).toMatchObject({
      state: 'done',
      checkpoint: { pagesDone: PAGES, devicesEnqueued: FLEET_SIZE, state: 'done' },
    });
    expect(simulator.stats().listCalls).toBe(PAGES);
    expect(queue.devices.map((device) => device.deviceId)).toEqual(allDeviceIds());
  });

  it('starts a new runId from zero after a finished pass, and does nothing for the finished runId', async () => {
    // Prepare
    const queue = new RecordingQueue();
    await discoverFleet(ACCOUNT, { thingspace, store, syncQueue: queue }, { runId: 'run-1' });
    simulator.reset();

    // Act
    const repeated = await discoverFleet(ACCOUNT, { thingspace, store, syncQueue: queue }, { runId: 'run-1' });
    const listCallsForRepeat = simulator.stats().listCalls;
    const next = await discoverFleet(ACCOUNT, { thingspace, store, syncQueue: queue }, { runId: 'run-2' });

    // Assess
    expect(repeated.state).toBe('done');
    expect(listCallsForRepeat).toBe(0);
    expect(next).toMatchObject({
      state: 'done',
      checkpoint: { runId: 'run-2', pagesDone: PAGES, devicesEnqueued: FLEET_SIZE },
    });
    expect(listedStartIndexes()[0]).toBe('0');
    expect(simulator.stats().listCalls).toBe(PAGES);
    expect(queue.devices).toHaveLength(2 * FLEET_SIZE);
  });

  it('never starts a pass for a continuation whose pass a newer one has replaced', async () => {
    // Prepare
    const queue = new RecordingQueue();
    await discoverFleet(
      ACCOUNT,
      { thingspace, store, syncQueue: queue },
      { runId: 'run-old', shouldContinue: () => false },
    );
    await discoverFleet(ACCOUNT, { thingspace, store, syncQueue: queue }, { runId: 'run-new', replaceRunning: true });
    simulator.reset();

    // Act
    const outcome = await discoverFleet(
      ACCOUNT,
      { thingspace, store, syncQueue: queue },
      { runId: 'run-old', continuation: true },
    );

    // Assess
    expect(outcome).toMatchObject({ state: 'skipped', reason: 'superseded' });
    expect(simulator.stats().listCalls).toBe(0);
    expect((await store.getDiscoveryCheckpoint(ACCOUNT))?.runId).toBe('run-new');
  });

  it('finishes an account without devices with one list call, and skips listed ids that are not IMEIs', async () => {
    // Prepare
    const emptyAccount = '0000000043-00001';
    simulator.addAccount(emptyAccount);
    const mixedAccount = '0000000044-00001';
    simulator.addDevice(mixedAccount, '12345');
    simulator.setHistory(mixedAccount, '990000473475989', [
      upgradeRecord({ deviceId: '990000473475989', id: 'up-1', accountName: mixedAccount }),
    ]);
    const queue = new RecordingQueue();

    // Act
    const empty = await discoverFleet(emptyAccount, { thingspace, store, syncQueue: queue }, { runId: 'run-1' });
    const mixed = await discoverFleet(mixedAccount, { thingspace, store, syncQueue: queue }, { runId: 'run-1' });

    // Assess
    expect(empty).toMatchObject({ state: 'done', checkpoint: { pagesDone: 1, devicesEnqueued: 0 } });
    expect(mixed).toMatchObject({ state: 'done', checkpoint: { pagesDone: 1, devicesEnqueued: 1 } });
    expect(queue.devices).toEqual([{ account: mixedAccount, deviceId: '990000473475989' }]);
    expect(simulator.stats().listCalls).toBe(2);
  });

  it('starts no further archive checks once one has failed, and fails the page', async () => {
    // Prepare: 100 never-upgraded devices, each needing a look at the archive; the first look fails.
    const neverUpgraded = '0000000045-00001';
    simulator.addSyntheticFleet(neverUpgraded, { size: 100, recordsPerDevice: 0 });
    let checks = 0;
    const failingStore = Object.assign(Object.create(store) as DynamoDbHistoryStore, {
      hasArchivedUpgrades: async () => {
        checks += 1;
        const first = checks === 1;
        await new Promise((resolve) => setTimeout(resolve, first ? 5 : 50));
        if (first) throw new Error('store unavailable');
        return false;
      },
    });

    // Act
    const pass = discoverFleet(
      neverUpgraded,
      { thingspace, store: failingStore, syncQueue: new RecordingQueue() },
      {
        runId: 'run-1',
      },
    );

    // Assess: only the first concurrent batch (16) was ever started.
    await expect(pass).rejects.toThrow('store unavailable');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(checks).toBeGreaterThan(1);
    expect(checks).toBeLessThanOrEqual(16);
  });
});
