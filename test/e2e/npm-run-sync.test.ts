import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../adapters/dynamodb/client';
import { DynamoDbHistoryStore } from '../../adapters/dynamodb/dynamodb-history-store';
import type { DeviceSyncState } from '../../domain/ports';
import { ErrorCode } from '../../domain/api-error';
import { startEmbeddedDynamoDb } from '../../local/embedded-dynamodb';
import { DEFAULT_TABLE_NAME } from '../../local/local-environment';
import { DEMO_CREDENTIALS, startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';

const PROJECT_ROOT = join(import.meta.dirname, '..', '..');
const ACCOUNT = '0000000077-00001';
const FLEET_SIZE = 250;
const PAGE_SIZE = 100;
const PAGES = 3;
const RECORDS_PER_DEVICE = 2;
/** The child's ThingSpace client tries a failing call this often. */
const MAX_ATTEMPTS = 2;

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run sync -- --account ACCOUNT` in its own process, output captured through pipes (not a TTY). */
function npmRunSync(env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', 'sync', '--', '--account', ACCOUNT], {
      cwd: PROJECT_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
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

describe('npm run sync -- --account (one machine, one full pass)', () => {
  let first: RunResult;
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
    expect(first.stdout).toContain(`${ACCOUNT}: ${FLEET_SIZE} devices listed, ${FLEET_SIZE - 1} synced, 1 failed`);
    expect(first.stdout).toMatch(new RegExp(`^${ACCOUNT}: \\d+/${FLEET_SIZE} devices done, \\d+ failed$`, 'm'));
    // Totals are never below what is done: "N listed so far" while the list is read, the real total after.
    for (const [, done, total] of first.stdout.matchAll(new RegExp(`^${ACCOUNT}: (\\d+)/(\\d+) devices done`, 'gm'))) {
      expect(Number(total)).toBe(FLEET_SIZE);
      expect(Number(done)).toBeLessThanOrEqual(FLEET_SIZE);
    }
    for (const [, done, listed] of first.stdout.matchAll(new RegExp(`^${ACCOUNT}: (\\d+) devices done, (\\d+) listed so far`, 'gm'))) {
      expect(Number(done)).toBeLessThanOrEqual(Number(listed));
    }
    // No progress bar and no terminal control sequences when the output is not a TTY.
    expect(first.stdout + first.stderr).not.toMatch(/\r|\u001b\[/);
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
    expect(stats.historyCalls).toBe(FLEET_SIZE - 1 + MAX_ATTEMPTS);
    expect(stats).toMatchObject({ tokenRequests: 1, loginsOk: 1, loginsFailed: 0 });
  });

  it('rewrites no unchanged upgrade on a second pass, while still recording each device\'s sync', async () => {
    // Prepare
    simulator.reset();
    simulator.setDeviceFault(failing, { kind: 'status', status: 500 });

    // Act
    const second = await npmRunSync(childEnv);
    const afterSecond = await readStore(dataDir, deviceIds);

    // Assess
    expect(second.code, second.stderr).toBe(1);
    expect(afterSecond.upgrades).toEqual(afterFirst.upgrades);
    const good = deviceIds.find((deviceId) => deviceId !== failing) as string;
    const syncedAt = (snapshot: StoreSnapshot) => Date.parse(snapshot.syncStates.get(good)?.syncedAt ?? '');
    expect(syncedAt(afterSecond)).toBeGreaterThan(syncedAt(afterFirst));
    expect(simulator.stats()).toMatchObject({ listCalls: PAGES, historyCalls: FLEET_SIZE - 1 + MAX_ATTEMPTS });
  });
});
