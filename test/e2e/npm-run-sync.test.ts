import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../adapters/dynamodb/client';
import { DynamoDbHistoryStore } from '../../adapters/dynamodb/dynamodb-history-store';
import { ErrorCode } from '../../domain/failure';
import type { DeviceSyncState } from '../../domain/ports';
import { DEFAULT_TABLE_NAME } from '../../functions/commons/configuration';
import { startEmbeddedDynamoDb } from '../../local/embedded-dynamodb';
import { DEMO_CREDENTIALS, startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { npmRun } from '../support/local-server-process';

const ACCOUNT = '0000000077-00001';
const FLEET_SIZE = 250;
const PAGE_SIZE = 100;
const PAGES = 3;
const RECORDS_PER_DEVICE = 2;
/** Two devices besides the synthetic fleet: one never upgraded, one with a recent upgrade that failed. */
const NEVER_UPGRADED = '359000000000017';
const UNFINISHED = '359000000000025';
const LISTED = FLEET_SIZE + 2;
/** The child's ThingSpace client tries a failing call this often. */
const MAX_ATTEMPTS = 2;

/** `npm run sync -- --account ACCOUNT` in its own process, output captured through pipes (not a TTY). */
function npmRunSync(env: NodeJS.ProcessEnv, extraArgs: readonly string[] = []) {
  return npmRun('sync', ['--account', ACCOUNT, ...extraArgs], env, { npmNotes: true });
}

interface StoreSnapshot {
  /** `deviceId/upgradeId` -> firstSeenAt and observedAt of every archived upgrade. */
  upgrades: Map<string, string>;
  syncStates: Map<string, DeviceSyncState | undefined>;
}

/** Opens the DATA_DIR store the child left behind (after it exited) and reads every device of the fleet. */
async function readStore(dataDir: string, deviceIds: readonly string[]): Promise<StoreSnapshot> {
  const embedded = await startEmbeddedDynamoDb({ dataDir });
  const client = createDocumentClient({ endpoint: embedded.endpoint });
  try {
    const store = new DynamoDbHistoryStore({ client, tableName: DEFAULT_TABLE_NAME });
    const upgrades = new Map<string, string>();
    const syncStates = new Map<string, DeviceSyncState | undefined>();
    for (const deviceId of deviceIds) {
      const device = { account: ACCOUNT, deviceId };
      for (const upgrade of await store.listUpgrades(device)) {
        upgrades.set(`${deviceId}/${upgrade.record.id}`, `${upgrade.firstSeenAt} ${upgrade.observedAt}`);
      }
      syncStates.set(deviceId, await store.getSyncState(device));
    }
    return { upgrades, syncStates };
  } finally {
    client.destroy();
    await embedded.close();
  }
}

let simulator: ThingSpaceSimulator;
let dataDir: string;
let deviceIds: string[];
let failing: string;
let childEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  simulator = await startThingSpaceSimulator({ pageSize: PAGE_SIZE });
  const fleet = simulator.addSyntheticFleet(ACCOUNT, { size: FLEET_SIZE, recordsPerDevice: RECORDS_PER_DEVICE });
  deviceIds = Array.from({ length: FLEET_SIZE }, (_, index) => fleet.deviceIdAt(index));
  failing = fleet.deviceIdAt(123);
  simulator.addDevice(ACCOUNT, NEVER_UPGRADED);
  const recent = new Date(Date.now() - 10 * 86_400_000).toISOString().slice(0, 10);
  simulator.setHistory(ACCOUNT, UNFINISHED, [
    {
      deviceId: UNFINISHED,
      id: 'e2e-unfinished',
      accountName: ACCOUNT,
      firmwareFrom: 'FW-1',
      firmwareTo: 'FW-2',
      startDate: recent,
      upgradeStartTime: `${recent}T09:00:00Z`,
      status: 'UpgradeFailed',
      reason: 'Device did not respond',
    },
  ]);
  simulator.setDeviceFault(failing, { kind: 'status', status: 500 });
  dataDir = await mkdtemp(join(tmpdir(), 'fota-sync-e2e-'));
  const { DYNAMODB_ENDPOINT: _endpoint, TABLE_NAME: _table, POWERTOOLS_LOG_LEVEL: _level, ...inherited } = process.env;
  childEnv = {
    ...inherited,
    THINGSPACE_BASE_URL: simulator.url,
    THINGSPACE_CREDENTIALS: JSON.stringify(DEMO_CREDENTIALS),
    DATA_DIR: dataDir,
    THINGSPACE_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    THINGSPACE_RETRY_BASE_MS: '1',
    // Pipes, not a terminal; make sure nothing upstream forces colours or a bar.
    FORCE_COLOR: '0',
  };
});

afterAll(async () => {
  await simulator.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** Each case spawns `npm run sync`; on a busy 2-core machine a process start alone can take seconds. */
const SPAWN_TEST_TIMEOUT_MS = 120_000;

describe('npm run sync -- --account (one machine, change-aware passes)', { timeout: SPAWN_TEST_TIMEOUT_MS }, () => {
  let first: Awaited<ReturnType<typeof npmRunSync>>;
  let afterFirst: StoreSnapshot;

  it('archives every device it can, then exits 1 naming the device that failed, in plain lines', async () => {
    // Prepare
    simulator.reset();
    simulator.setDeviceFault(failing, { kind: 'status', status: 500 });

    // Act
    first = await npmRunSync(childEnv);
    afterFirst = await readStore(dataDir, deviceIds);

    // Assess
    expect(first.code, first.stderr).toBe(1);
    expect(first.stdout).toMatch(new RegExp(`^\\s*failed: ${failing} ${ErrorCode.upstreamUnavailable}$`, 'm'));
    expect(first.stdout).toContain(
      `${ACCOUNT}: ${LISTED} devices listed, ${FLEET_SIZE + 1} asked, 1 skipped, ${FLEET_SIZE} synced, 1 failed`,
    );
    expect(first.stdout).toContain(`  asked:   never-synced ${FLEET_SIZE + 1}\n  skipped: never-upgraded 1\n`);
    expect(first.stdout).toMatch(new RegExp(`^${ACCOUNT}: \\d+/${FLEET_SIZE + 1} devices done, \\d+ failed$`, 'm'));
    // Totals are never below what is done: "N listed so far" while the list is read, the real total after.
    for (const [, done, total] of first.stdout.matchAll(new RegExp(`^${ACCOUNT}: (\\d+)/(\\d+) devices done`, 'gm'))) {
      expect(Number(total)).toBe(FLEET_SIZE + 1);
      expect(Number(done)).toBeLessThanOrEqual(FLEET_SIZE + 1);
    }
    for (const [, done, listed] of first.stdout.matchAll(
      new RegExp(`^${ACCOUNT}: (\\d+) devices done, (\\d+) listed so far`, 'gm'),
    )) {
      expect(Number(done)).toBeLessThanOrEqual(Number(listed));
    }
    // No progress bar and no terminal control sequences when the output is not a TTY.
    expect(first.stdout + first.stderr).not.toContain('\r');
    expect(first.stdout + first.stderr).not.toContain('\u001b[');
    expect(afterFirst.upgrades.size).toBe((FLEET_SIZE - 1) * RECORDS_PER_DEVICE);
    for (const deviceId of deviceIds) {
      const state = afterFirst.syncStates.get(deviceId);
      if (deviceId === failing) {
        expect(state).toMatchObject({ outcome: 'failure', errorCode: ErrorCode.upstreamUnavailable });
      } else {
        expect(state, deviceId).toMatchObject({ outcome: 'success', upgradesSeen: RECORDS_PER_DEVICE });
      }
    }
  });

  it('made one history call per device and one list call per page', () => {
    // Prepare: the first run's simulator counters.
    const stats = simulator.stats();

    // Act
    const callsPerDevice = deviceIds.map((deviceId) => simulator.historyCallsFor(deviceId));

    // Assess
    expect(stats.listCalls).toBe(PAGES);
    expect(callsPerDevice.filter((calls, index) => deviceIds[index] !== failing && calls !== 1)).toEqual([]);
    expect(simulator.historyCallsFor(failing)).toBe(MAX_ATTEMPTS);
    expect(simulator.historyCallsFor(NEVER_UPGRADED)).toBe(0);
    expect(simulator.historyCallsFor(UNFINISHED)).toBe(1);
    expect(stats.historyCalls).toBe(FLEET_SIZE + MAX_ATTEMPTS);
    expect(stats).toMatchObject({ tokenRequests: 1, loginsOk: 1, loginsFailed: 0 });
  });

  it('asks only the device that never synced and the unfinished upgrade on a second pass over an unchanged fleet, and rewrites nothing', async () => {
    // Prepare
    simulator.reset();
    simulator.setDeviceFault(failing, { kind: 'status', status: 500 });

    // Act
    const second = await npmRunSync(childEnv);
    const afterSecond = await readStore(dataDir, deviceIds);

    // Assess
    expect(second.code, second.stderr).toBe(1);
    expect(second.stdout).toContain(
      `${ACCOUNT}: ${LISTED} devices listed, 2 asked, ${FLEET_SIZE} skipped, 1 synced, 1 failed`,
    );
    expect(second.stdout).toContain(
      `  asked:   never-synced 1, unfinished-upgrade 1\n  skipped: unchanged ${FLEET_SIZE - 1}, never-upgraded 1\n`,
    );
    expect(afterSecond.upgrades).toEqual(afterFirst.upgrades);
    expect(simulator.stats()).toMatchObject({ listCalls: PAGES, historyCalls: MAX_ATTEMPTS + 1 });
    expect(simulator.historyCallsFor(UNFINISHED)).toBe(1);
    expect(simulator.historyCallsFor(failing)).toBe(MAX_ATTEMPTS);
  });

  it('asks a device whose list entry changed and one due a full resync, and archives the new record', async () => {
    // Prepare: a new upgrade for one device (its list's upgradeTime and firmware change), and a device
    // whose last full sync is older than fullResyncDays (written into the store the child left behind).
    simulator.reset();
    simulator.setDeviceFault(failing, undefined);
    const changed = deviceIds[7] as string;
    const due = deviceIds[8] as string;
    const live = simulator.liveHistory(ACCOUNT, changed) ?? [];
    const newest = {
      ...live[0]!,
      id: 'e2e-new-upgrade',
      startDate: '2026-11-30',
      upgradeStartTime: '2026-11-30T08:00:00Z',
      firmwareFrom: 'SyntheticFirmware-2',
      firmwareTo: 'SyntheticFirmware-3',
    };
    simulator.setHistory(ACCOUNT, changed, [newest, ...live]);
    await rewriteSyncState(dataDir, due, { lastFullSyncAt: new Date(Date.now() - 8 * 86_400_000).toISOString() });

    // Act
    const third = await npmRunSync(childEnv);
    const afterThird = await readStore(dataDir, deviceIds);

    // Assess
    expect(third.code, third.stderr).toBe(0);
    expect(third.stdout).toContain(
      `${ACCOUNT}: ${LISTED} devices listed, 4 asked, ${LISTED - 4} skipped, 4 synced, 0 failed`,
    );
    expect(third.stdout).toContain(
      '  asked:   never-synced 1, list-changed 1, unfinished-upgrade 1, full-resync-due 1\n',
    );
    expect(simulator.stats().historyCalls).toBe(4);
    expect([changed, due, failing].map((deviceId) => simulator.historyCallsFor(deviceId))).toEqual([1, 1, 1]);
    expect(afterThird.upgrades.has(`${changed}/e2e-new-upgrade`)).toBe(true);
    expect(afterThird.upgrades.size).toBe(afterFirst.upgrades.size + RECORDS_PER_DEVICE + 1);
  });

  it('asks every device with --full', async () => {
    // Prepare
    simulator.reset();

    // Act
    const full = await npmRunSync(childEnv, ['--full']);

    // Assess
    expect(full.code, full.stderr).toBe(0);
    expect(full.stdout).toContain(
      `${ACCOUNT}: ${LISTED} devices listed, ${FLEET_SIZE + 1} asked, 1 skipped, ${FLEET_SIZE + 1} synced, 0 failed`,
    );
    expect(full.stdout).toContain(`  asked:   full-pass ${FLEET_SIZE + 1}\n  skipped: never-upgraded 1\n`);
    expect(simulator.stats().historyCalls).toBe(FLEET_SIZE + 1);
    expect(simulator.historyCallsFor(NEVER_UPGRADED)).toBe(0);
  });
});

/** Changes one device's sync state in the DATA_DIR store while no child has it open. */
async function rewriteSyncState(dataDir: string, deviceId: string, changes: Partial<DeviceSyncState>): Promise<void> {
  const embedded = await startEmbeddedDynamoDb({ dataDir });
  const client = createDocumentClient({ endpoint: embedded.endpoint });
  try {
    const store = new DynamoDbHistoryStore({ client, tableName: DEFAULT_TABLE_NAME });
    const device = { account: ACCOUNT, deviceId };
    const state = await store.getSyncState(device);
    await store.recordSyncOutcome(device, { ...state!, ...changes, syncedAt: new Date().toISOString() });
  } finally {
    client.destroy();
    await embedded.close();
  }
}
