import { afterEach, describe, expect, it } from 'vitest';
import {
  DEMO_ACCOUNT,
  DEMO_CREDENTIALS,
  DEMO_DEVICE_FROM_DOCS,
  DEMO_DEVICE_WITH_FAILURE,
  DEMO_DEVICE_WITHOUT_HISTORY,
  type SimulatorOptions,
  seedDemoData,
  startThingSpaceSimulator,
  type ThingSpaceSimulator,
} from '../../local/thingspace-simulator';

let simulator: ThingSpaceSimulator | undefined;

afterEach(async () => {
  await simulator?.close();
  simulator = undefined;
});

async function start(options: SimulatorOptions = {}) {
  simulator = await startThingSpaceSimulator(options);
  seedDemoData(simulator);
  return simulator;
}

function basic(appKey: string, appSecret: string) {
  return `Basic ${Buffer.from(`${appKey}:${appSecret}`).toString('base64')}`;
}

async function requestToken(sim: ThingSpaceSimulator, appSecret = DEMO_CREDENTIALS.appSecret) {
  const response = await fetch(`${sim.url}/api/ts/v1/oauth2/token`, {
    method: 'POST',
    headers: {
      authorization: basic(DEMO_CREDENTIALS.appKey, appSecret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function login(sim: ThingSpaceSimulator, token: string, password = DEMO_CREDENTIALS.password) {
  const response = await fetch(`${sim.url}/api/m2m/v1/session/login`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username: DEMO_CREDENTIALS.username, password }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function signedIn(sim: ThingSpaceSimulator) {
  const token = String((await requestToken(sim)).body.access_token);
  const session = String((await login(sim, token)).body.sessionToken);
  return { token, session };
}

async function get(sim: ThingSpaceSimulator, path: string, auth: { token?: string; session?: string }) {
  const headers: Record<string, string> = {};
  if (auth.token) headers.authorization = `Bearer ${auth.token}`;
  if (auth.session) headers['VZ-M2M-Token'] = auth.session;
  const response = await fetch(`${sim.url}${path}`, { headers });
  return { status: response.status, text: await response.text() };
}

const historyPath = (deviceId: string, account = DEMO_ACCOUNT) => `/api/fota/v1/reports/${account}/devices/${deviceId}`;

describe('ThingSpace simulator authentication', () => {
  it('returns the same access token while it lives and refuses a wrong key pair', async () => {
    // Prepare
    const sim = await start();

    // Act
    const first = await requestToken(sim);
    const second = await requestToken(sim);
    const wrong = await requestToken(sim, 'not-the-secret');

    // Assess
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(second.body.access_token).toBe(first.body.access_token);
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_client');
  });

  it('answers 401 with gateway fault codes for a missing or invalid bearer token', async () => {
    // Prepare
    const sim = await start();

    // Act
    const missing = await get(sim, historyPath(DEMO_DEVICE_FROM_DOCS), {});
    const invalid = await get(sim, historyPath(DEMO_DEVICE_FROM_DOCS), { token: 'made-up' });

    // Assess
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.text).fault.code).toBe('900902');
    expect(invalid.status).toBe(401);
    expect(JSON.parse(invalid.text).fault.code).toBe('900901');
  });

  it('locks the API user after five consecutive refused logins, even for the right password', async () => {
    // Prepare
    const sim = await start();
    const token = String((await requestToken(sim)).body.access_token);
    for (let attempt = 0; attempt < 5; attempt += 1) await login(sim, token, 'wrong-password');

    // Act
    const afterLock = await login(sim, token);

    // Assess
    expect(afterLock.status).toBe(400);
    expect(afterLock.body.errorCode).toBe('UnifiedWebService.AUTH.UserLocked');
    expect(sim.stats()).toMatchObject({ loginsFailed: 6, userLocked: true });
  });

  it('resets the failure count on a successful login', async () => {
    // Prepare
    const sim = await start();
    const token = String((await requestToken(sim)).body.access_token);
    for (let attempt = 0; attempt < 4; attempt += 1) await login(sim, token, 'wrong-password');

    // Act
    const accepted = await login(sim, token);

    // Assess
    expect(accepted.status).toBe(200);
    expect(sim.stats()).toMatchObject({ consecutiveFailedLogins: 0, userLocked: false });
  });

  it('expires an idle session with a 400 SessionToken.Expired, but not a used one', async () => {
    // Prepare
    let now = 1_000_000;
    const sim = await start({ sessionIdleSeconds: 60, now: () => now });
    const auth = await signedIn(sim);

    // Act
    now += 50_000;
    const used = await get(sim, historyPath(DEMO_DEVICE_FROM_DOCS), auth);
    now += 50_000;
    const usedAgain = await get(sim, historyPath(DEMO_DEVICE_FROM_DOCS), auth);
    now += 61_000;
    const idle = await get(sim, historyPath(DEMO_DEVICE_FROM_DOCS), auth);

    // Assess
    expect([used.status, usedAgain.status]).toEqual([200, 200]);
    expect(idle.status).toBe(400);
    expect(JSON.parse(idle.text)).toEqual({
      errorCode: 'UnifiedWebService.REQUEST_FAILED.SessionToken.Expired',
      errorMessage: 'The Session has expired.',
    });
  });

  it('invalidates tokens and sessions on demand', async () => {
    // Prepare
    const sim = await start();
    const auth = await signedIn(sim);

    // Act
    sim.expireSessions();
    const sessionExpired = await get(sim, historyPath(DEMO_DEVICE_FROM_DOCS), auth);
    sim.expireAccessTokens();
    const tokenExpired = await get(sim, historyPath(DEMO_DEVICE_FROM_DOCS), auth);
    const renewed = await requestToken(sim);

    // Assess
    expect(sessionExpired.status).toBe(400);
    expect(tokenExpired.status).toBe(401);
    expect(renewed.body.access_token).not.toBe(auth.token);
  });
});

describe('ThingSpace simulator FOTA answers', () => {
  it('serves the demo histories, [] for a device without history, and AccountNotFound for an unknown account', async () => {
    // Prepare
    const sim = await start();
    const auth = await signedIn(sim);

    // Act
    const docs = await get(sim, historyPath(DEMO_DEVICE_FROM_DOCS), auth);
    const failed = await get(sim, historyPath(DEMO_DEVICE_WITH_FAILURE), auth);
    const empty = await get(sim, historyPath(DEMO_DEVICE_WITHOUT_HISTORY), auth);
    const unknown = await get(sim, historyPath(DEMO_DEVICE_FROM_DOCS, '0000000000-99999'), auth);

    // Assess
    expect(JSON.parse(docs.text).map((record: { id: string }) => record.id)).toEqual([
      'f574fbb8-b291-4cc7-bf22-4e3f27977558',
      '5edade25-c06c-4b13-ba2a-fbb9ada93579',
    ]);
    expect(JSON.parse(failed.text)[0].status).toBe('UpgradeFailed');
    expect(JSON.parse(empty.text)).toEqual([]);
    expect(unknown.status).toBe(400);
    expect(JSON.parse(unknown.text).errorCode).toBe('UnifiedWebService.REQUEST_FAILED.AccountNotFound');
  });

  it('refuses badly formed path parameters with INVALID_PARAMETER', async () => {
    // Prepare
    const sim = await start();
    const auth = await signedIn(sim);

    // Act
    const badDevice = await get(sim, historyPath('not-an-imei'), auth);
    const badAccount = await get(sim, historyPath(DEMO_DEVICE_FROM_DOCS, 'acme'), auth);

    // Assess
    expect(badDevice.status).toBe(400);
    expect(JSON.parse(badDevice.text)).toEqual({
      errorCode: 'INVALID_PARAMETER',
      errorMessage: 'Invalid device id format',
    });
    expect(JSON.parse(badAccount.text).errorCode).toBe('INVALID_PARAMETER');
  });

  it('lets a record change status and old records leave the live window', async () => {
    // Prepare
    const sim = await start();
    const auth = await signedIn(sim);
    const [newest] = JSON.parse((await get(sim, historyPath(DEMO_DEVICE_WITH_FAILURE), auth)).text);

    // Act
    sim.updateRecord(DEMO_ACCOUNT, DEMO_DEVICE_WITH_FAILURE, newest.id, {
      status: 'UpgradeSuccess',
      reason: 'success',
    });
    sim.setLiveSince(DEMO_ACCOUNT, '2025-03-01');
    const live = JSON.parse((await get(sim, historyPath(DEMO_DEVICE_WITH_FAILURE), auth)).text);

    // Assess
    expect(live).toHaveLength(2);
    expect(live[0]).toMatchObject({ id: newest.id, status: 'UpgradeSuccess', reason: 'success' });
  });

  it('plays one-shot faults in order, then answers normally', async () => {
    // Prepare
    const sim = await start();
    const auth = await signedIn(sim);
    sim.failNext(1, 503, { retryAfterSeconds: 1 });
    sim.malformNext(1, 'truncated');
    sim.malformNext(1, 'wrong-shape');

    // Act
    const answers: Array<{ status: number; text: string }> = [];
    for (let call = 0; call < 4; call += 1) answers.push(await get(sim, historyPath(DEMO_DEVICE_FROM_DOCS), auth));

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([503, 200, 200, 200]);
    expect(() => JSON.parse(answers[1]?.text ?? '')).toThrow();
    expect(Array.isArray(JSON.parse(answers[2]?.text ?? ''))).toBe(false);
    expect(JSON.parse(answers[3]?.text ?? '')).toHaveLength(2);
  });

  it('fails one device on every call while the others are served', async () => {
    // Prepare
    const sim = await start();
    const auth = await signedIn(sim);
    sim.setDeviceFault(DEMO_DEVICE_WITH_FAILURE, { kind: 'status', status: 500 });

    // Act
    const failing = [
      await get(sim, historyPath(DEMO_DEVICE_WITH_FAILURE), auth),
      await get(sim, historyPath(DEMO_DEVICE_WITH_FAILURE), auth),
    ];
    const other = await get(sim, historyPath(DEMO_DEVICE_FROM_DOCS), auth);

    // Assess
    expect(failing.map((answer) => answer.status)).toEqual([500, 500]);
    expect(other.status).toBe(200);
    expect(sim.historyCallsFor(DEMO_DEVICE_WITH_FAILURE)).toBe(2);
  });

  it('logs method, path and status but no header value', async () => {
    // Prepare
    const sim = await start();
    const auth = await signedIn(sim);

    // Act
    await get(sim, historyPath(DEMO_DEVICE_FROM_DOCS), auth);

    // Assess
    const log = sim.requests();
    expect(log.at(-1)).toEqual({ method: 'GET', path: historyPath(DEMO_DEVICE_FROM_DOCS), status: 200 });
    expect(JSON.stringify(log)).not.toContain(auth.token);
    expect(JSON.stringify(log)).not.toContain(auth.session);
  });

  it('can be driven over HTTP under /_simulator', async () => {
    // Prepare
    const sim = await start();
    const auth = await signedIn(sim);

    // Act
    const switched = await fetch(`${sim.url}/_simulator/fail`, {
      method: 'POST',
      body: JSON.stringify({ count: 1, status: 429 }),
    });
    const answer = await get(sim, historyPath(DEMO_DEVICE_FROM_DOCS), auth);
    const stats = await (await fetch(`${sim.url}/_simulator/stats`)).json();

    // Assess
    expect(switched.status).toBe(200);
    expect(answer.status).toBe(429);
    expect(stats).toMatchObject({ tokenRequests: 1, loginsOk: 1, historyCalls: 1 });
  });
});

describe('ThingSpace simulator synthetic fleets', () => {
  it('pages through sorted, unique, IMEI-like device ids, the same on every run', async () => {
    // Prepare
    const sim = await start({ pageSize: 1000 });
    const auth = await signedIn(sim);
    sim.addSyntheticFleet('0000000001-00001', { size: 2500, recordsPerDevice: 2 });

    // Act
    const pages = [];
    let startIndex = '0';
    for (;;) {
      const page = JSON.parse((await get(sim, `/api/fota/v1/devices/0000000001-00001/index/${startIndex}`, auth)).text);
      pages.push(page);
      if (!page.hasMoreData) break;
      startIndex = page.lastSeenDeviceId;
    }

    // Assess
    const ids: string[] = pages.flatMap((page) =>
      page.deviceList.map((device: { deviceId: string }) => device.deviceId),
    );
    expect(pages.map((page) => page.deviceList.length)).toEqual([1000, 1000, 500]);
    expect(new Set(ids).size).toBe(2500);
    expect([...ids].sort()).toEqual(ids);
    expect(ids.every((id) => /^[0-9]{15}$/.test(id))).toBe(true);
    expect(ids.slice(0, 2)).toEqual(['350000000000006', '350000000000014']);
  });

  it('generates the same history for a device every time, without storing it', async () => {
    // Prepare
    const sim = await start();
    const auth = await signedIn(sim);
    const fleet = sim.addSyntheticFleet('0000000001-00001', { size: 1_000_000, recordsPerDevice: 3 });
    const deviceId = fleet.deviceIdAt(765_432);

    // Act
    const first = await get(sim, historyPath(deviceId, '0000000001-00001'), auth);
    const second = await get(sim, historyPath(deviceId, '0000000001-00001'), auth);

    // Assess
    const records = JSON.parse(first.text);
    expect(records).toHaveLength(3);
    expect(
      records.every(
        (record: { deviceId: string; id: string }) => record.deviceId === deviceId && record.id.length === 36,
      ),
    ).toBe(true);
    expect(second.text).toBe(first.text);
  });
});
