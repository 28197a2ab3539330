import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThingSpaceClient } from '../../adapters/thingspace/client';
import {
  CHANGE_EVENT_SOURCE,
  type ChangeEvent,
  UPGRADE_OBSERVED,
  UPGRADE_STATUS_CHANGED,
} from '../../domain/change-event';
import { callbackCredentials } from '../../functions/commons/callback-dependencies';
import { buildHistoryDependencies } from '../../functions/commons/history-dependencies';
import { makeHandler as makeHistoryHandler } from '../../functions/get-history-api';
import { makeHandler as makeCallbackHandler } from '../../functions/thingspace-callback';
import { type LocalApiServer, startLocalApiServer } from '../../local/api-gateway-server';
import { type LocalCallbackSyncs, localCallbackSyncs } from '../../local/callback-listener';
import { attachLocalChangeFeed, type LocalChangeFeed } from '../../local/change-feed';
import { runSyncPass } from '../../local/sync-pass';
import { DEMO_CREDENTIALS, startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import type { HistoryDependencies } from '../../services/observe-device';
import { useTestDynamoDb } from '../support/dynamodb';
import { handlerConfig } from '../support/handler-environment';
import { nextDeviceId, upgradeRecord } from '../support/records';

/**
 * npm start's wiring in one process: the history API and the callback listener behind the local API
 * Gateway server, the store wrapped by the change feed, callbacks synced by the in-process pool.
 */
const CALLBACK = { username: 'callback-user', password: 'callback-password-1' };
const ACCOUNT = '0242078689-00007';

const db = useTestDynamoDb();
let simulator: ThingSpaceSimulator;
let server: LocalApiServer;
let feed: LocalChangeFeed;
let syncs: LocalCallbackSyncs;
let dataDir: string;
let dependencies: HistoryDependencies;

beforeAll(async () => {
  simulator = await startThingSpaceSimulator({ credentials: DEMO_CREDENTIALS });
  dataDir = await mkdtemp(join(tmpdir(), 'fota-events-'));
  const tableName = await db.createTestTable();
  const config = handlerConfig(
    { tableName, dynamoDbEndpoint: db.endpoint, thingspaceUrl: simulator.url },
    { THINGSPACE_CALLBACK_CREDENTIALS: JSON.stringify(CALLBACK) },
  );
  dependencies = buildHistoryDependencies(config);
  feed = attachLocalChangeFeed(dependencies, { dataDir });
  syncs = localCallbackSyncs(dependencies);
  const callbacks = { credentials: callbackCredentials(config), syncQueue: syncs.pool };
  server = await startLocalApiServer({
    handler: makeHistoryHandler(() => dependencies),
    callbackHandler: makeCallbackHandler(() => callbacks),
    port: 0,
    host: '127.0.0.1',
  });
});

afterAll(async () => {
  await server?.close();
  await syncs?.drain();
  await feed?.close();
  await simulator?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function events(): Promise<ChangeEvent[]> {
  await feed.flush();
  const text = await readFile(feed.path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ChangeEvent);
}

async function eventsFor(deviceId: string): Promise<ChangeEvent[]> {
  return (await events()).filter((event) => event.detail.deviceId === deviceId);
}

function device(ids: string[]) {
  const deviceId = nextDeviceId();
  const records = ids.map((id) =>
    upgradeRecord({ deviceId, id, accountName: ACCOUNT, status: 'UpgradeFailed', reason: 'Device did not respond' }),
  );
  simulator.setHistory(ACCOUNT, deviceId, records);
  return { deviceId, records };
}

const getHistory = (deviceId: string) => fetch(`${server.url}/reports/${ACCOUNT}/devices/${deviceId}`);

function postCallback(body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${server.url}/callbacks/thingspace`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const basic = (username: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`,
});

describe('events.jsonl through the API', () => {
  it('has one event per insert and per change, and none for an unchanged re-read', async () => {
    // Prepare
    const { deviceId } = device(['a-1', 'a-2']);

    // Act + Assess: first sight
    expect((await getHistory(deviceId)).status).toBe(200);
    const first = await eventsFor(deviceId);
    expect(first.map((event) => [event['detail-type'], event.detail.upgrade.id]).sort()).toEqual([
      [UPGRADE_OBSERVED, 'a-1'],
      [UPGRADE_OBSERVED, 'a-2'],
    ]);
    expect(first[0]).toMatchObject({ source: CHANGE_EVENT_SOURCE, time: first[0]!.detail.observedAt });

    // Act + Assess: unchanged re-read
    expect((await getHistory(deviceId)).status).toBe(200);
    expect(await eventsFor(deviceId)).toHaveLength(2);

    // Act + Assess: one change
    simulator.updateRecord(ACCOUNT, deviceId, 'a-2', { status: 'UpgradeSuccess', reason: 'success' });
    expect((await getHistory(deviceId)).status).toBe(200);
    const after = await eventsFor(deviceId);
    expect(after).toHaveLength(3);
    expect(after[2]).toMatchObject({
      'detail-type': UPGRADE_STATUS_CHANGED,
      detail: {
        upgrade: { id: 'a-2', status: 'UpgradeSuccess' },
        previous: { status: 'UpgradeFailed', reason: 'Device did not respond' },
        changedFields: ['status', 'reason'],
      },
    });
  });
});

describe('events.jsonl through the sync', () => {
  it('has one event per upgrade a pass archives, none on a second pass', async () => {
    // Prepare
    const account = '0242078689-00008';
    const deviceId = nextDeviceId();
    simulator.setHistory(account, deviceId, [upgradeRecord({ deviceId, id: 's-1', accountName: account })]);

    // Act
    await runSyncPass(account, dependencies);
    await runSyncPass(account, dependencies);

    // Assess
    const seen = await eventsFor(deviceId);
    expect(seen.map((event) => event['detail-type'])).toEqual([UPGRADE_OBSERVED]);
  });
});

describe('events.jsonl when a sync pass is stopped (Ctrl-C of npm run sync)', () => {
  it('starts no new device, lets those in flight finish, and has an event for each upgrade they archived', async () => {
    // Prepare: 40 devices, synced two at a time, stopped after the first device is done
    const account = '0242078689-00009';
    const deviceIds = Array.from({ length: 40 }, () => nextDeviceId());
    for (const [index, deviceId] of deviceIds.entries()) {
      simulator.setHistory(account, deviceId, [upgradeRecord({ deviceId, id: `stop-${index}`, accountName: account })]);
    }
    const stop = new AbortController();

    // Act
    const result = await runSyncPass(account, dependencies, {
      concurrency: 2,
      signal: stop.signal,
      onDeviceDone: () => stop.abort(),
    });

    // Assess: stopped early, without failures, and every device it synced has its one event
    expect(result.failed).toEqual([]);
    expect(result.synced).toBeGreaterThan(0);
    expect(result.synced).toBeLessThan(deviceIds.length);
    expect(result.interrupted).toBe(true);
    const withEvents = (await events()).filter((event) => event.detail.account === account);
    expect(withEvents).toHaveLength(result.synced);
    expect(new Set(withEvents.map((event) => event.detail.deviceId)).size).toBe(result.synced);
  });
});

describe('POST /callbacks/thingspace', () => {
  it('syncs the named device with HTTP Basic credentials, so its change becomes one event', async () => {
    // Prepare
    const { deviceId } = device(['c-1']);
    await getHistory(deviceId);
    simulator.updateRecord(ACCOUNT, deviceId, 'c-1', { status: 'UpgradeSuccess', reason: 'success' });

    // Act
    const response = await postCallback(
      { accountName: ACCOUNT, deviceId, status: 'whatever' },
      basic(CALLBACK.username, CALLBACK.password),
    );
    await syncs.drain();

    // Assess
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: 1 });
    expect((await eventsFor(deviceId)).map((event) => event['detail-type'])).toEqual([
      UPGRADE_OBSERVED,
      UPGRADE_STATUS_CHANGED,
    ]);
  });

  it('accepts the credentials in the body and a deviceList, and a duplicate costs a sync but no event', async () => {
    // Prepare
    const one = device(['d-1']);
    const two = device(['d-2']);
    const body = {
      ...CALLBACK,
      accountName: ACCOUNT,
      deviceList: [{ deviceId: one.deviceId }, { deviceId: two.deviceId }, { deviceId: one.deviceId }],
    };

    // Act
    const first = await postCallback(body);
    await syncs.drain();
    const duplicate = await postCallback(body);
    await syncs.drain();

    // Assess
    expect(await first.json()).toEqual({ accepted: 2 });
    expect(await duplicate.json()).toEqual({ accepted: 2 });
    expect(await eventsFor(one.deviceId)).toHaveLength(1);
    expect(await eventsFor(two.deviceId)).toHaveLength(1);
    expect(simulator.historyCallsFor(one.deviceId)).toBe(2);
  });

  it.each([
    ['wrong password (Basic)', basic(CALLBACK.username, 'nope'), {}],
    ['wrong username (body)', {}, { username: 'other', password: CALLBACK.password }],
    ['no credentials', {}, {}],
  ])('answers 401 in ThingSpace shape and syncs nothing for %s', async (_name, headers, credentials) => {
    const { deviceId } = device(['w-1']);
    const response = await postCallback({ ...credentials, accountName: ACCOUNT, deviceId }, headers);
    await syncs.drain();
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ errorCode: 'UNAUTHORIZED', errorMessage: expect.any(String) });
    expect(simulator.historyCallsFor(deviceId)).toBe(0);
  });

  it.each([
    ['malformed JSON', '{"accountName":', /not a JSON object/],
    ['no device', { accountName: ACCOUNT, status: 'Finished' }, /names no device/],
    ['an invalid device id', { accountName: ACCOUNT, deviceList: [{ deviceId: '12' }] }, /Invalid device id format/],
    ['an invalid account', { accountName: 'acme', deviceId: '990000473475989' }, /Invalid account name format/],
  ])('answers 400 INVALID_PARAMETER for %s', async (_name, body, message) => {
    const response = await postCallback(body, basic(CALLBACK.username, CALLBACK.password));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      errorCode: 'INVALID_PARAMETER',
      errorMessage: expect.stringMatching(message),
    });
  });

  it('answers 413 for a body over 256 KB', async () => {
    const { deviceId } = device(['big-1']);
    const response = await postCallback(
      { accountName: ACCOUNT, deviceId, padding: 'x'.repeat(256 * 1024) },
      basic(CALLBACK.username, CALLBACK.password),
    );
    await syncs.drain();
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ errorCode: 'PAYLOAD_TOO_LARGE', errorMessage: expect.any(String) });
    expect(simulator.historyCallsFor(deviceId)).toBe(0);
  });
  it('counts the 256 KB in bytes, not characters', async () => {
    const { deviceId } = device(['big-2']);
    // 140 Ki characters, 280 KiB in UTF-8
    const response = await postCallback(
      { accountName: ACCOUNT, deviceId, padding: 'é'.repeat(140 * 1024) },
      basic(CALLBACK.username, CALLBACK.password),
    );
    await syncs.drain();
    expect(response.status).toBe(413);
    expect(simulator.historyCallsFor(deviceId)).toBe(0);
  });

  it('answers 413 to a body that goes on past 256 KB without waiting for its end', async () => {
    // Prepare: a client that sends 300 KB and then neither sends more nor ends the body
    const { deviceId } = device(['big-3']);
    const url = new URL(`${server.url}/callbacks/thingspace`);
    const answered = new Promise<{ status: number; body: string }>((resolveAnswer, rejectAnswer) => {
      const stalled = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', ...basic(CALLBACK.username, CALLBACK.password) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolveAnswer({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
        },
      );
      stalled.on('error', rejectAnswer);
      stalled.write(`{"accountName":"${ACCOUNT}","deviceId":"${deviceId}","padding":"${'x'.repeat(300 * 1024)}`);
    });

    // Act
    const { status, body } = await answered;

    // Assess
    expect(status).toBe(413);
    expect(JSON.parse(body)).toEqual({
      errorCode: 'PAYLOAD_TOO_LARGE',
      errorMessage: expect.stringContaining('262144 bytes'),
    });
    expect(simulator.historyCallsFor(deviceId)).toBe(0);
  });
});

describe('the loop on one machine', () => {
  it('registers with the simulator, and a changed record comes back as a callback, a sync and one event line', async () => {
    // Prepare
    const { deviceId } = device(['l-1']);
    await getHistory(deviceId);
    const client = createThingSpaceClient({ baseUrl: simulator.url, credentials: async () => DEMO_CREDENTIALS });
    await client.registerCallback(ACCOUNT, { url: `${server.url}/callbacks/thingspace`, ...CALLBACK });
    expect(await client.listCallbacks(ACCOUNT)).toEqual([{ name: 'Fota', url: `${server.url}/callbacks/thingspace` }]);

    // Act: a record changes through the simulator's control route
    const patched = await fetch(`${simulator.url}/_simulator/record`, {
      method: 'PATCH',
      body: JSON.stringify({
        account: ACCOUNT,
        deviceId,
        id: 'l-1',
        changes: { status: 'UpgradeSuccess', reason: 'success' },
      }),
    });
    await simulator.callbacksSettled();
    await syncs.drain();

    // Assess
    expect(patched.status).toBe(200);
    expect(simulator.callbacksSent().at(-1)).toMatchObject({ account: ACCOUNT, deviceIds: [deviceId], status: 200 });
    const lines = await eventsFor(deviceId);
    expect(lines.map((event) => event['detail-type'])).toEqual([UPGRADE_OBSERVED, UPGRADE_STATUS_CHANGED]);
    expect(lines[1]?.detail.upgrade.status).toBe('UpgradeSuccess');

    // Cleanup: unregistered, no more callbacks
    await client.deleteCallback(ACCOUNT);
    expect(await client.listCallbacks(ACCOUNT)).toEqual([]);
  });
});
