import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createThingSpaceClient, type ThingSpaceClientOptions } from '../../adapters/thingspace/client';
import type { ThingSpaceApi } from '../../domain/ports';
import {
  DEMO_ACCOUNT,
  DEMO_CREDENTIALS,
  DEMO_DEVICE_FROM_DOCS,
  DEMO_DEVICE_WITH_FAILURE,
  seedDemoData,
  startThingSpaceSimulator,
  type ThingSpaceSimulator,
} from '../../local/thingspace-simulator';
import { failureOf } from '../support/thingspace-client';

const DOCS_DEVICE = { account: DEMO_ACCOUNT, deviceId: DEMO_DEVICE_FROM_DOCS };

let simulator: ThingSpaceSimulator;

beforeEach(async () => {
  simulator = await startThingSpaceSimulator();
  seedDemoData(simulator);
});

afterEach(async () => {
  await simulator.close();
});

function client(options: Partial<ThingSpaceClientOptions> = {}): ThingSpaceApi {
  return createThingSpaceClient({
    baseUrl: simulator.url,
    credentials: async () => DEMO_CREDENTIALS,
    baseDelayMs: 1,
    maxDelayMs: 5,
    timeoutMs: 2000,
    ...options,
  });
}

describe('ThingSpace client against the simulator', () => {
  it('returns the documented history of a device', async () => {
    // Prepare
    const thingspace = client();

    // Act
    const history = await thingspace.getDeviceHistory(DOCS_DEVICE);

    // Assess
    expect(history).toEqual(simulator.liveHistory(DEMO_ACCOUNT, DEMO_DEVICE_FROM_DOCS));
    expect(history.map((record) => record.id)).toEqual([
      'f574fbb8-b291-4cc7-bf22-4e3f27977558',
      '5edade25-c06c-4b13-ba2a-fbb9ada93579',
    ]);
  });

  it('uses one token and one login for many calls, concurrent or not', async () => {
    // Prepare
    const thingspace = client();

    // Act
    await Promise.all(Array.from({ length: 30 }, () => thingspace.getDeviceHistory(DOCS_DEVICE)));
    for (let call = 0; call < 5; call += 1) await thingspace.getDeviceHistory(DOCS_DEVICE);

    // Assess
    expect(simulator.stats()).toMatchObject({ tokenRequests: 1, loginsOk: 1, historyCalls: 35 });
  });

  it('renews an expired access token once and retries the call', async () => {
    // Prepare
    const thingspace = client();
    await thingspace.getDeviceHistory(DOCS_DEVICE);
    simulator.expireAccessTokens();

    // Act
    const history = await thingspace.getDeviceHistory(DOCS_DEVICE);

    // Assess
    expect(history).toHaveLength(2);
    expect(simulator.stats()).toMatchObject({ tokensIssued: 2, historyCalls: 3 });
  });

  it('logs in again once when the session has expired', async () => {
    // Prepare
    const thingspace = client();
    await thingspace.getDeviceHistory(DOCS_DEVICE);
    simulator.expireSessions();

    // Act
    const history = await thingspace.getDeviceHistory(DOCS_DEVICE);

    // Assess
    expect(history).toHaveLength(2);
    expect(simulator.stats()).toMatchObject({ loginsOk: 2, tokenRequests: 1, historyCalls: 3 });
  });

  it('retries 5xx and returns the answer once ThingSpace recovers', async () => {
    // Prepare
    const thingspace = client();
    simulator.failNext(2, 503);

    // Act
    const history = await thingspace.getDeviceHistory(DOCS_DEVICE);

    // Assess
    expect(history).toHaveLength(2);
    expect(simulator.historyCallsFor(DEMO_DEVICE_FROM_DOCS)).toBe(3);
  });

  it('gives up as unavailable after maxAttempts when 5xx persists', async () => {
    // Prepare
    const thingspace = client({ maxAttempts: 3 });
    simulator.setDeviceFault(DEMO_DEVICE_FROM_DOCS, { kind: 'status', status: 500 });

    // Act
    const failure = await failureOf(thingspace.getDeviceHistory(DOCS_DEVICE));

    // Assess
    expect(failure.failure).toBe('unavailable');
    expect(failure.details.status).toBe(500);
    expect(simulator.historyCallsFor(DEMO_DEVICE_FROM_DOCS)).toBe(3);
  });

  it('keeps serving other devices while one device always fails', async () => {
    // Prepare
    const thingspace = client({ maxAttempts: 2 });
    simulator.setDeviceFault(DEMO_DEVICE_WITH_FAILURE, { kind: 'status', status: 500 });

    // Act
    const [failing, healthy] = await Promise.allSettled([
      thingspace.getDeviceHistory({ account: DEMO_ACCOUNT, deviceId: DEMO_DEVICE_WITH_FAILURE }),
      thingspace.getDeviceHistory(DOCS_DEVICE),
    ]);

    // Assess
    expect(failing?.status).toBe('rejected');
    expect(healthy?.status === 'fulfilled' && healthy.value).toHaveLength(2);
  });

  it('times out on an answer that never comes', async () => {
    // Prepare
    const thingspace = client({ timeoutMs: 50, maxAttempts: 2 });
    simulator.hangNext(2);

    // Act
    const failure = await failureOf(thingspace.getDeviceHistory(DOCS_DEVICE));

    // Assess
    expect(failure.failure).toBe('timeout');
    expect(simulator.historyCallsFor(DEMO_DEVICE_FROM_DOCS)).toBe(2);
  });

  it('times out on a slow answer and succeeds on the next attempt', async () => {
    // Prepare
    const thingspace = client({ timeoutMs: 100, maxAttempts: 2 });
    simulator.slowNext(1, 1000);

    // Act
    const history = await thingspace.getDeviceHistory(DOCS_DEVICE);

    // Assess
    expect(history).toHaveLength(2);
    expect(simulator.historyCallsFor(DEMO_DEVICE_FROM_DOCS)).toBe(2);
  });

  it.each(['truncated', 'wrong-shape'] as const)('fails as malformed on a %s answer', async (kind) => {
    // Prepare
    const thingspace = client();
    simulator.malformNext(1, kind);

    // Act
    const failure = await failureOf(thingspace.getDeviceHistory(DOCS_DEVICE));

    // Assess
    expect(failure.failure).toBe('malformed');
  });

  it('causes exactly one failed login with a wrong password, however often it is called', async () => {
    // Prepare
    const thingspace = client({ credentials: async () => ({ ...DEMO_CREDENTIALS, password: 'wrong-password' }) });

    // Act
    const failures = [];
    for (let call = 0; call < 10; call += 1) failures.push(await failureOf(thingspace.getDeviceHistory(DOCS_DEVICE)));

    // Assess
    expect(failures.every((failure) => failure.failure === 'auth')).toBe(true);
    expect(simulator.stats()).toMatchObject({
      loginsFailed: 1,
      consecutiveFailedLogins: 1,
      userLocked: false,
      historyCalls: 0,
    });
  });

  it('passes INVALID_PARAMETER on as rejected', async () => {
    // Prepare
    const thingspace = client();

    // Act
    const failure = await failureOf(thingspace.getDeviceHistory({ account: DEMO_ACCOUNT, deviceId: 'not-an-imei' }));

    // Assess
    expect(failure.failure).toBe('rejected');
    expect(failure.details).toEqual({
      status: 400,
      errorCode: 'INVALID_PARAMETER',
      errorMessage: 'Invalid device id format',
    });
  });

  it('passes an XML 404 on as rejected with a synthesized code', async () => {
    // Prepare
    const thingspace = client();
    simulator.injectFault({
      kind: 'status',
      status: 404,
      body: '<am:fault><am:code>404</am:code><am:message>Not Found</am:message></am:fault>',
    });

    // Act
    const failure = await failureOf(thingspace.getDeviceHistory(DOCS_DEVICE));

    // Assess
    expect(failure.failure).toBe('rejected');
    expect(failure.details).toMatchObject({ status: 404, errorCode: 'UPSTREAM_HTTP_404' });
    expect(failure.message).not.toContain('<am:fault>');
  });

  it('keeps a path parameter with a slash in one segment', async () => {
    // Prepare
    const thingspace = client();

    // Act
    const failure = await failureOf(thingspace.listDevices(DEMO_ACCOUNT, '0/../x'));

    // Assess
    expect(failure.details.errorCode).toBe('INVALID_PARAMETER');
    expect(simulator.requests().at(-1)?.path).toBe(`/api/fota/v1/devices/${DEMO_ACCOUNT}/index/0%2F..%2Fx`);
  });

  it('pages through a synthetic fleet of 2,500 devices', async () => {
    // Prepare
    const fleet = simulator.addSyntheticFleet('0000000001-00001', { size: 2500, recordsPerDevice: 1 });
    const thingspace = client();

    // Act
    const deviceIds: string[] = [];
    let startIndex = '0';
    let pages = 0;
    for (;;) {
      const page = await thingspace.listDevices('0000000001-00001', startIndex);
      pages += 1;
      deviceIds.push(...page.deviceIds);
      if (!page.hasMoreData) break;
      startIndex = page.lastSeenDeviceId;
    }

    // Assess
    expect(pages).toBe(3);
    expect(deviceIds).toHaveLength(2500);
    expect(new Set(deviceIds).size).toBe(2500);
    expect(deviceIds[0]).toBe(fleet.deviceIdAt(0));
    expect(deviceIds.at(-1)).toBe(fleet.deviceIdAt(2499));
  });
});
