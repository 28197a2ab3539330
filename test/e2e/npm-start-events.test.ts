/**
 * Issue 10, black box: `npm start` appends one change event per archive insert and per change to
 * DATA_DIR/events.jsonl, from the API and from ThingSpace callbacks, and a restart neither loses nor
 * repeats one.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../domain/change-event';
import { startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { E2E_ACCOUNT, E2E_CREDENTIALS, getHistory, newDeviceId, upgrade } from '../support/e2e-fixtures';
import { freePort, type LocalServerProcess, makeTempDir, startLocalServer } from '../support/local-server-process';

const CALLBACK = { username: 'e2e-callback', password: 'e2e-callback-password' };

let simulator: ThingSpaceSimulator;
let dataDir: { path: string; remove(): Promise<void> };
let server: LocalServerProcess | undefined;

async function start(): Promise<LocalServerProcess> {
  server = await startLocalServer({
    env: {
      PORT: String(await freePort()),
      THINGSPACE_BASE_URL: simulator.url,
      THINGSPACE_CREDENTIALS: JSON.stringify(E2E_CREDENTIALS),
      THINGSPACE_CALLBACK_CREDENTIALS: JSON.stringify(CALLBACK),
      DATA_DIR: dataDir.path,
    },
  });
  return server;
}

async function lines(): Promise<ChangeEvent[]> {
  const text = await readFile(join(dataDir.path, 'events.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ChangeEvent);
}

async function waitForLines(count: number): Promise<ChangeEvent[]> {
  const until = Date.now() + 15_000;
  for (;;) {
    const found = await lines();
    if (found.length >= count || Date.now() > until) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  simulator = await startThingSpaceSimulator({ credentials: E2E_CREDENTIALS });
  simulator.addAccount(E2E_ACCOUNT);
  dataDir = await makeTempDir();
});

afterAll(async () => {
  await server?.stop();
  await simulator?.close();
  await dataDir?.remove();
});

describe('npm start events.jsonl', () => {
  it('holds every insert and change once, across a restart, from the API and from a callback', async () => {
    const device = newDeviceId();
    simulator.setHistory(E2E_ACCOUNT, device, [
      upgrade(device, 1, { status: 'InProgress' }),
      upgrade(device, 2, { status: 'InProgress' }),
    ]);
    const [first, second] = simulator.liveHistory(E2E_ACCOUNT, device)!.map((record) => record.id);

    // First run: two first sightings through the API, then a change that arrives as a callback.
    let running = await start();
    expect((await getHistory(running.url, E2E_ACCOUNT, device)).status).toBe(200);
    simulator.registerCallback(E2E_ACCOUNT, { url: `${running.url}/callbacks/thingspace`, ...CALLBACK });
    simulator.updateRecord(E2E_ACCOUNT, device, first!, { status: 'UpgradeSuccess', reason: 'success' });
    await simulator.callbacksSettled();
    expect(simulator.callbacksSent().at(-1)?.status).toBe(200);
    expect(await waitForLines(3)).toHaveLength(3);
    await running.stop('SIGTERM');

    // Second run on the same DATA_DIR: an unchanged re-read adds nothing; one more change adds one line.
    running = await start();
    expect((await getHistory(running.url, E2E_ACCOUNT, device)).status).toBe(200);
    simulator.updateRecord(E2E_ACCOUNT, device, second!, { status: 'UpgradeFailed', reason: 'Device did not respond' });
    expect((await getHistory(running.url, E2E_ACCOUNT, device)).status).toBe(200);
    await running.stop('SIGTERM');
    server = undefined;

    // Assess: after the restart, every event is there exactly once.
    const events = await lines();
    const summary = events.map((event) => [event['detail-type'], event.detail.upgrade.id, event.detail.upgrade.status]);
    // The two first sightings are written concurrently, in either order.
    expect(summary.slice(0, 2).sort()).toEqual(
      [
        ['FOTA Upgrade Observed', first, 'InProgress'],
        ['FOTA Upgrade Observed', second, 'InProgress'],
      ].sort(),
    );
    expect(summary.slice(2)).toEqual([
      ['FOTA Upgrade Status Changed', first, 'UpgradeSuccess'],
      ['FOTA Upgrade Status Changed', second, 'UpgradeFailed'],
    ]);
    expect(new Set(events.map((event) => event.detail.eventId)).size).toBe(events.length);
  });
});
