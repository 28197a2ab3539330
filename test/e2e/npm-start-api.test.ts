/**
 * Issue 3, black box: `npm start` serves the deployed API with the deployed handler. One server (a
 * real `npm start` child process) for the whole file, talking to a ThingSpace simulator in this
 * process; every test uses its own device, and only HTTP reaches the server.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UPGRADE_RECORD_FIELDS } from '../../domain/upgrade-record';
import { startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { E2E_ACCOUNT, E2E_CREDENTIALS, getHistory, getPath, ids, newDeviceId, upgrade } from '../support/e2e-fixtures';
import { freePort, type LocalServerProcess, makeTempDir, startLocalServer } from '../support/local-server-process';

let simulator: ThingSpaceSimulator;
let server: LocalServerProcess;
let dataDir: { path: string; remove(): Promise<void> };

beforeAll(async () => {
  simulator = await startThingSpaceSimulator({ credentials: E2E_CREDENTIALS });
  simulator.addAccount(E2E_ACCOUNT);
  dataDir = await makeTempDir();
  server = await startLocalServer({
    env: {
      PORT: String(await freePort()),
      THINGSPACE_BASE_URL: simulator.url,
      THINGSPACE_CREDENTIALS: JSON.stringify(E2E_CREDENTIALS),
      DATA_DIR: dataDir.path,
      // Short enough to keep failures fast, with room for two retries.
      THINGSPACE_TIMEOUT_MS: '700',
      THINGSPACE_MAX_ATTEMPTS: '3',
      THINGSPACE_RETRY_BASE_MS: '20',
    },
  });
});

afterAll(async () => {
  await server?.stop();
  await simulator?.close();
  await dataDir?.remove();
});

beforeEach(() => {
  simulator.reset();
});

/**
 * Calls that reached the simulator since the test began, counted on arrival (the request log counts
 * on close, so a connection an earlier test abandoned could still show up there).
 */
function upstreamCalls() {
  const { historyCalls, tokenRequests, loginsOk, loginsFailed } = simulator.stats();
  return { historyCalls, tokenRequests, loginsOk, loginsFailed };
}

describe('npm start serves GET /reports/{account}/devices/{deviceId} like the deployed API', () => {
  it('answers ThingSpace-shaped records, exactly the nine documented fields, newest first', async () => {
    // Prepare: ThingSpace lists the upgrades out of order
    const device = newDeviceId();
    simulator.setHistory(E2E_ACCOUNT, device, [upgrade(device, 2), upgrade(device, 5), upgrade(device, 1)]);

    // Act
    const answer = await getHistory(server.url, E2E_ACCOUNT, device);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/application\/json/);
    expect(answer.headers.get('x-history-stale')).toBeNull();
    expect(answer.body).toEqual([upgrade(device, 5), upgrade(device, 2), upgrade(device, 1)]);
    for (const record of answer.body as object[])
      expect(Object.keys(record).sort()).toEqual([...UPGRADE_RECORD_FIELDS].sort());
  });

  it('keeps returning archived records after ThingSpace stops returning them', async () => {
    // Prepare: the service sees three upgrades, then the oldest leaves ThingSpace's six-month window
    const device = newDeviceId();
    simulator.setHistory(E2E_ACCOUNT, device, [upgrade(device, 1), upgrade(device, 2), upgrade(device, 3)]);
    expect((await getHistory(server.url, E2E_ACCOUNT, device)).status).toBe(200);
    simulator.removeRecord(E2E_ACCOUNT, device, upgrade(device, 1).id);

    // Act
    const answer = await getHistory(server.url, E2E_ACCOUNT, device);

    // Assess
    expect(simulator.liveHistory(E2E_ACCOUNT, device)).toHaveLength(2);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-history-stale')).toBeNull();
    expect(answer.body).toEqual([upgrade(device, 3), upgrade(device, 2), upgrade(device, 1)]);
  });

  it('updates a record whose status changed, without duplicating it, and keeps it after it leaves ThingSpace', async () => {
    // Prepare: an OMA-DM upgrade first reads as failed, later as a success
    const device = newDeviceId();
    const failed = upgrade(device, 4, { status: 'UpgradeFailed', reason: 'Device did not respond' });
    simulator.setHistory(E2E_ACCOUNT, device, [failed, upgrade(device, 3)]);
    expect((await getHistory(server.url, E2E_ACCOUNT, device)).status).toBe(200);
    simulator.updateRecord(E2E_ACCOUNT, device, failed.id, { status: 'UpgradeSuccess', reason: 'success' });

    // Act
    const updated = await getHistory(server.url, E2E_ACCOUNT, device);
    simulator.setHistory(E2E_ACCOUNT, device, []);
    const archivedOnly = await getHistory(server.url, E2E_ACCOUNT, device);

    // Assess
    const succeeded = { ...failed, status: 'UpgradeSuccess', reason: 'success' };
    expect(updated.body).toEqual([succeeded, upgrade(device, 3)]);
    expect(archivedOnly.status).toBe(200);
    expect(archivedOnly.body).toEqual([succeeded, upgrade(device, 3)]);
  });

  it('reuses one access token and one M2M session across many requests', async () => {
    // Prepare: whatever the server holds is no longer valid, so it must get exactly one of each
    simulator.expireAccessTokens();
    simulator.expireSessions();
    const devices = Array.from({ length: 8 }, () => newDeviceId());
    for (const device of devices) simulator.setHistory(E2E_ACCOUNT, device, [upgrade(device, 1)]);

    // Act: one request first, then the rest sequentially and concurrently
    const answers = [await getHistory(server.url, E2E_ACCOUNT, devices[0]!)];
    for (const device of devices.slice(1, 4)) answers.push(await getHistory(server.url, E2E_ACCOUNT, device));
    answers.push(...(await Promise.all(devices.slice(4).map((device) => getHistory(server.url, E2E_ACCOUNT, device)))));

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual(devices.map(() => 200));
    expect(simulator.stats()).toMatchObject({ tokenRequests: 1, tokensIssued: 1, loginsOk: 1, loginsFailed: 0 });
  });

  it('renews an expired access token once and answers, with at most one login', async () => {
    // Prepare
    const device = newDeviceId();
    simulator.setHistory(E2E_ACCOUNT, device, [upgrade(device, 1)]);
    expect((await getHistory(server.url, E2E_ACCOUNT, device)).status).toBe(200);
    simulator.reset();
    simulator.expireAccessTokens();

    // Act
    const answer = await getHistory(server.url, E2E_ACCOUNT, device);

    // Assess: refused once with the old token, then answered with the new one. The client also drops
    // the session it used with the refused token, so at most one login goes with the renewal.
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual([upgrade(device, 1)]);
    expect(simulator.stats()).toMatchObject({ tokenRequests: 1, tokensIssued: 1, loginsFailed: 0, historyCalls: 2 });
    expect(simulator.stats().loginsOk).toBeLessThanOrEqual(1);
  });

  it('logs in again once when the M2M session expired, keeping the access token', async () => {
    // Prepare
    const device = newDeviceId();
    simulator.setHistory(E2E_ACCOUNT, device, [upgrade(device, 1)]);
    expect((await getHistory(server.url, E2E_ACCOUNT, device)).status).toBe(200);
    simulator.reset();
    simulator.expireSessions();

    // Act
    const answer = await getHistory(server.url, E2E_ACCOUNT, device);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual([upgrade(device, 1)]);
    expect(simulator.stats()).toMatchObject({ tokenRequests: 0, loginsOk: 1, loginsFailed: 0, historyCalls: 2 });
  });

  it.each([
    ['an account that is not digits', '/reports/acct-one/devices/350000000000001'],
    ['an account suffix with a letter', '/reports/0242078689-0000A/devices/350000000000001'],
    ['a device id that is too short', `/reports/${E2E_ACCOUNT}/devices/12345`],
    ['a device id with letters', `/reports/${E2E_ACCOUNT}/devices/35000000000000X`],
    ['a percent-encoded slash in the device id', `/reports/${E2E_ACCOUNT}/devices/3500000%2F0000001`],
    ['broken percent-encoding', `/reports/${E2E_ACCOUNT}/devices/%E0%A4%A`],
  ])('answers 400 {errorCode, errorMessage} without calling ThingSpace for %s', async (_case, path) => {
    // Act
    const answer = await getPath(server.url, path);

    // Assess
    expect(answer.status).toBe(400);
    expect(Object.keys(answer.body as object).sort()).toEqual(['errorCode', 'errorMessage']);
    expect(answer.body).toMatchObject({ errorCode: 'INVALID_PARAMETER', errorMessage: expect.any(String) });
    expect(upstreamCalls()).toEqual({ historyCalls: 0, tokenRequests: 0, loginsOk: 0, loginsFailed: 0 });
  });

  it('passes ThingSpace 4xx refusals through with their status and body', async () => {
    // Prepare: an account ThingSpace does not know (400), and a device ThingSpace forbids (403)
    const forbidden = newDeviceId();
    simulator.addDevice(E2E_ACCOUNT, forbidden);
    simulator.setDeviceFault(forbidden, {
      kind: 'status',
      status: 403,
      body: { errorCode: 'UnifiedWebService.REQUEST_FAILED.AccessDenied', errorMessage: 'Device not accessible' },
    });

    // Act
    const unknownAccount = await getHistory(server.url, '0999999999-00009', newDeviceId());
    const denied = await getHistory(server.url, E2E_ACCOUNT, forbidden);

    // Assess
    expect(unknownAccount.status).toBe(400);
    expect(unknownAccount.body).toEqual({
      errorCode: 'UnifiedWebService.REQUEST_FAILED.AccountNotFound',
      errorMessage: 'Account not found or not accessible',
    });
    expect(denied.status).toBe(403);
    expect(denied.body).toEqual({
      errorCode: 'UnifiedWebService.REQUEST_FAILED.AccessDenied',
      errorMessage: 'Device not accessible',
    });
    expect(simulator.historyCallsFor(forbidden)).toBe(1);
  });

  it('retries ThingSpace 5xx answers and returns the history', async () => {
    // Prepare: two failures, then the answer (THINGSPACE_MAX_ATTEMPTS=3)
    const device = newDeviceId();
    simulator.setHistory(E2E_ACCOUNT, device, [upgrade(device, 1), upgrade(device, 2)]);
    simulator.injectFault({ kind: 'status', status: 503 }, 1, device);
    simulator.injectFault({ kind: 'status', status: 500 }, 1, device);

    // Act
    const answer = await getHistory(server.url, E2E_ACCOUNT, device);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-history-stale')).toBeNull();
    expect(answer.body).toEqual([upgrade(device, 2), upgrade(device, 1)]);
    expect(simulator.historyCallsFor(device)).toBe(3);
  });

  it('answers archived records with X-History-Stale: true when ThingSpace is down', async () => {
    // Prepare: archived while ThingSpace was up, then ThingSpace fails every call for the device
    const device = newDeviceId();
    simulator.setHistory(E2E_ACCOUNT, device, [upgrade(device, 1), upgrade(device, 2)]);
    expect((await getHistory(server.url, E2E_ACCOUNT, device)).status).toBe(200);
    simulator.setDeviceFault(device, { kind: 'status', status: 503 });

    // Act
    const answer = await getHistory(server.url, E2E_ACCOUNT, device);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-history-stale')).toBe('true');
    expect(answer.body).toEqual([upgrade(device, 2), upgrade(device, 1)]);
    expect(simulator.historyCallsFor(device)).toBe(1 + 3);
  });

  it('answers 502 when ThingSpace is down and nothing is archived', async () => {
    // Prepare
    const device = newDeviceId();
    simulator.setHistory(E2E_ACCOUNT, device, [upgrade(device, 1)]);
    simulator.setDeviceFault(device, { kind: 'status', status: 503 });

    // Act
    const answer = await getHistory(server.url, E2E_ACCOUNT, device);

    // Assess
    expect(answer.status).toBe(502);
    expect(answer.body).toEqual({ errorCode: 'UPSTREAM_UNAVAILABLE', errorMessage: expect.any(String) });
  });

  it('answers 504 when ThingSpace does not answer in time and nothing is archived', async () => {
    // Prepare
    const device = newDeviceId();
    simulator.setHistory(E2E_ACCOUNT, device, [upgrade(device, 1)]);
    simulator.setDeviceFault(device, { kind: 'hang' });

    // Act
    const answer = await getHistory(server.url, E2E_ACCOUNT, device);

    // Assess
    expect(answer.status).toBe(504);
    expect(answer.body).toEqual({ errorCode: 'UPSTREAM_TIMEOUT', errorMessage: expect.any(String) });
  });

  it('answers 404 in the same error shape for a path that is not the route', async () => {
    // Act
    const answer = await getPath(server.url, `/reports/${E2E_ACCOUNT}/device/350000000000001`);

    // Assess
    expect(answer.status).toBe(404);
    expect(Object.keys(answer.body as object).sort()).toEqual(['errorCode', 'errorMessage']);
    expect(upstreamCalls()).toEqual({ historyCalls: 0, tokenRequests: 0, loginsOk: 0, loginsFailed: 0 });
  });

  it('stores each record once when 30 first requests for one device arrive together', async () => {
    // Prepare
    const device = newDeviceId();
    const records = [1, 2, 3, 4, 5].map((n) => upgrade(device, n));
    simulator.setHistory(E2E_ACCOUNT, device, records);

    // Act: 30 concurrent first requests, then ThingSpace forgets the device's upgrades
    const answers = await Promise.all(Array.from({ length: 30 }, () => getHistory(server.url, E2E_ACCOUNT, device)));
    simulator.setHistory(E2E_ACCOUNT, device, []);
    const archivedOnly = await getHistory(server.url, E2E_ACCOUNT, device);

    // Assess: every answer is complete, and the archive holds each upgrade exactly once
    const newestFirst = [...records].reverse();
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual(newestFirst);
    }
    expect(archivedOnly.status).toBe(200);
    expect(ids(archivedOnly.body)).toEqual(newestFirst.map((record) => record.id));
    expect(archivedOnly.body).toEqual(newestFirst);
  });
});
