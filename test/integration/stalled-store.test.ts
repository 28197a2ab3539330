import { createServer, type Server, type Socket } from 'node:net';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../adapters/dynamodb/client';
import { DynamoDbHistoryStore } from '../../adapters/dynamodb/dynamodb-history-store';
import { DynamoDbLoginGuard } from '../../adapters/dynamodb/dynamodb-login-guard';
import { createThingSpaceClient } from '../../adapters/thingspace/client';
import { InMemoryLoginGuardStore, type LoginGuardStore, userKey } from '../../adapters/thingspace/login-guard';
import { planArchiveWrites } from '../../domain/archive-plan';
import type { DiscoveryCheckpoint } from '../../domain/ports';
import { buildArchiveDependencies } from '../../functions/commons/archive-dependencies';
import { buildHistoryDependencies } from '../../functions/commons/history-dependencies';
import { makeHandler as makeArchiveHandler } from '../../functions/get-archive-api';
import { makeHandler } from '../../functions/get-history-api';
import { apiGatewayProxyEvent } from '../../local/lambda-emulation';
import { DEMO_CREDENTIALS, startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { discoverFleet } from '../../services/discover-fleet';
import { handlerConfig } from '../support/handler-environment';
import { historyRequestEvent, lambdaContext } from '../support/lambda';
import { nextDeviceId, TEST_ACCOUNT, upgradeRecord } from '../support/records';

type Handler = typeof import('../../functions/get-history-api')['handler'];

/** A "DynamoDB" that accepts every connection and reads every request, and never answers. */
async function startStalledStore(): Promise<{
  endpoint: string;
  connections: () => number;
  close: () => Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let stalled: Awaited<ReturnType<typeof startStalledStore>>;
let simulator: ThingSpaceSimulator;
let handler: Handler;
let archiveHandler: typeof import('../../functions/get-archive-api')['handler'];

beforeAll(async () => {
  stalled = await startStalledStore();
  simulator = await startThingSpaceSimulator({ credentials: DEMO_CREDENTIALS });
  const config = handlerConfig(
    { tableName: 'fota-history-stalled', dynamoDbEndpoint: stalled.endpoint, thingspaceUrl: simulator.url },
    { ARCHIVE_TOKEN_KEY: 'stalled-store-test-key-0123456789abcdef' },
  );
  const dependencies = buildHistoryDependencies(config);
  handler = makeHandler(() => dependencies);
  const archive = buildArchiveDependencies(config);
  archiveHandler = makeArchiveHandler(() => archive);
});

afterAll(async () => {
  await stalled.close();
  await simulator.close();
});

describe('a DynamoDB that accepts connections and never answers', () => {
  it('answers 503 ARCHIVE_UNAVAILABLE before the function runs out of time, not 500', async () => {
    // Prepare: a short Lambda budget stands in for API Gateway's 29 s.
    const deviceId = nextDeviceId();
    simulator.setHistory(TEST_ACCOUNT, deviceId, [upgradeRecord({ deviceId, id: 'live-1' })]);
    const budgetMs = 4_000;
    const startedAt = Date.now();

    // Act
    const result = await handler(historyRequestEvent({ account: TEST_ACCOUNT, deviceId }), lambdaContext(budgetMs));
    const answeredAfterMs = Date.now() - startedAt;

    // Assess
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body)).toEqual({ errorCode: 'ARCHIVE_UNAVAILABLE', errorMessage: expect.any(String) });
    expect(answeredAfterMs).toBeLessThan(budgetMs);
    expect(stalled.connections()).toBeGreaterThan(0);
  });

  it('answers the archive routes 503 ARCHIVE_UNAVAILABLE before the function runs out of time too', async () => {
    // Prepare
    const deviceId = nextDeviceId();
    const budgetMs = 4_000;
    const startedAt = Date.now();
    const event = apiGatewayProxyEvent({
      method: 'GET',
      resource: '/archive/{account}/devices/{deviceId}',
      path: `/archive/${TEST_ACCOUNT}/devices/${deviceId}`,
      pathParameters: { account: TEST_ACCOUNT, deviceId },
    });

    // Act
    const result = await archiveHandler(event, lambdaContext(budgetMs));
    const answeredAfterMs = Date.now() - startedAt;

    // Assess
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body)).toEqual({ errorCode: 'ARCHIVE_UNAVAILABLE', errorMessage: expect.any(String) });
    expect(answeredAfterMs).toBeLessThan(budgetMs);
  });

  it("makes the SDK's own request timeout an error instead of a warning", async () => {
    // Prepare: no deadline from a caller, only the client's per-attempt timeout.
    const client = createDocumentClient({ endpoint: stalled.endpoint, maxAttempts: 1, requestTimeoutMs: 300 });

    // Act
    const query = client.send(
      new QueryCommand({
        TableName: 'fota-history-stalled',
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'DEVICE#x' },
      }),
    );

    // Assess
    await expect(query).rejects.toMatchObject({ name: 'TimeoutError' });
    client.destroy();
  });

  it("aborts every kind of store call at the caller's deadline: writes, log reads, sync outcomes", async () => {
    // Prepare: the SDK's own timeout is far away, so only the deadline can end these calls.
    const client = createDocumentClient({ endpoint: stalled.endpoint, requestTimeoutMs: 60_000 });
    const store = new DynamoDbHistoryStore({ client, tableName: 'fota-history-stalled' });
    const device = { account: TEST_ACCOUNT, deviceId: nextDeviceId() };
    const writes = planArchiveWrites(
      [upgradeRecord({ deviceId: device.deviceId, id: 'u1' })],
      [],
      new Date().toISOString(),
    );
    const soon = () => ({ deadline: Date.now() + 300 });

    // Act
    const calls = await Promise.allSettled([
      store.applyWrites(device, writes, soon()),
      store.listStatusLogs(device, soon()),
      store.recordSyncOutcome(
        device,
        { syncedAt: new Date().toISOString(), outcome: 'success', upgradesSeen: 1 },
        soon(),
      ),
    ]);

    // Assess
    for (const call of calls) expect(call).toMatchObject({ status: 'rejected', reason: { name: 'AbortError' } });
    client.destroy();
  });

  it("aborts the fleet sync's store calls at the caller's deadline: sync states, archive checks, checkpoints", async () => {
    // Prepare: the SDK's own timeout is far away, and the store's default budget is 20 s.
    const client = createDocumentClient({ endpoint: stalled.endpoint, requestTimeoutMs: 60_000 });
    const store = new DynamoDbHistoryStore({ client, tableName: 'fota-history-stalled' });
    const device = { account: TEST_ACCOUNT, deviceId: nextDeviceId() };
    const checkpoint: DiscoveryCheckpoint = {
      account: TEST_ACCOUNT,
      runId: 'run-1',
      startedAt: new Date().toISOString(),
      nextIndex: '0',
      pagesDone: 0,
      devicesEnqueued: 0,
      state: 'running',
      updatedAt: new Date().toISOString(),
    };
    const soon = () => ({ deadline: Date.now() + 300 });
    const startedAt = Date.now();

    // Act
    const calls = await Promise.allSettled([
      store.getSyncState(device, soon()),
      store.getSyncStates(device.account, [device.deviceId], soon()),
      store.hasArchivedUpgrades(device, soon()),
      store.getDiscoveryCheckpoint(device.account, soon()),
      store.saveDiscoveryCheckpoint(checkpoint, undefined, soon()),
    ]);

    // Assess
    for (const call of calls) expect(call).toMatchObject({ status: 'rejected', reason: { name: 'AbortError' } });
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    client.destroy();
  });

  it('ends a discovery pass over a stalled store at its store deadline', async () => {
    // Prepare: the pass's first step reads its checkpoint, so ThingSpace is never asked.
    const client = createDocumentClient({ endpoint: stalled.endpoint, requestTimeoutMs: 60_000 });
    const store = new DynamoDbHistoryStore({ client, tableName: 'fota-history-stalled' });
    const notAsked = async (): Promise<never> => {
      throw new Error('ThingSpace was asked before the checkpoint was read');
    };
    const startedAt = Date.now();

    // Act
    const pass = discoverFleet(
      TEST_ACCOUNT,
      {
        thingspace: { getDeviceHistory: notAsked, listDevices: notAsked },
        store,
        syncQueue: { enqueue: notAsked },
      },
      { runId: 'run-stalled', deadline: startedAt + 60_000, storeDeadline: startedAt + 300 },
    );

    // Assess
    await expect(pass).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    client.destroy();
  });

  it("answers within the login guard's verdict budget when the login's verdict cannot be recorded", async () => {
    // Prepare: the attempt is counted in memory; recording its verdict goes to the stalled table.
    const client = createDocumentClient({ endpoint: stalled.endpoint, requestTimeoutMs: 60_000 });
    const stalledGuard = new DynamoDbLoginGuard({ client, tableName: 'fota-history-stalled' });
    const memory = new InMemoryLoginGuardStore();
    let counted = false;
    let verdictSent = false;
    const store: LoginGuardStore = {
      read: (key) => memory.read(key),
      write: async (key, record, expected, options) => {
        verdictSent = counted;
        if (counted) return stalledGuard.write(key, record, expected, options);
        counted = true;
        return memory.write(key, record, expected);
      },
    };
    const thingspace = createThingSpaceClient({
      baseUrl: simulator.url,
      credentials: async () => DEMO_CREDENTIALS,
      loginGuard: store,
    });
    const deviceId = nextDeviceId();
    simulator.setHistory(TEST_ACCOUNT, deviceId, [upgradeRecord({ deviceId, id: 'live-1' })]);
    const startedAt = Date.now();

    // Act
    const history = await thingspace.getDeviceHistory(
      { account: TEST_ACCOUNT, deviceId },
      { deadline: startedAt + 25_000 },
    );

    // Assess: the verdict gave up after its 2 s, not after the store's default 20 s.
    expect(history).toHaveLength(1);
    expect(verdictSent).toBe(true);
    expect(Date.now() - startedAt).toBeLessThan(8_000);
    client.destroy();
  });

  it("stops a login at the API call's deadline when the login guard's record cannot be read", async () => {
    // Prepare
    const client = createDocumentClient({ endpoint: stalled.endpoint, requestTimeoutMs: 60_000 });
    const guard = new DynamoDbLoginGuard({ client, tableName: 'fota-history-stalled' });
    const thingspace = createThingSpaceClient({
      baseUrl: simulator.url,
      credentials: async () => DEMO_CREDENTIALS,
      loginGuard: guard,
    });
    const loginsBefore = simulator.stats().loginRequests;
    const startedAt = Date.now();

    // Act
    const history = thingspace.getDeviceHistory(
      { account: TEST_ACCOUNT, deviceId: nextDeviceId() },
      { deadline: startedAt + 500 },
    );
    const guardCalls = Promise.allSettled([
      guard.read(userKey(DEMO_CREDENTIALS.username), { deadline: Date.now() + 300 }),
      guard.write(userKey('someone'), { version: 1, attempts: 1 }, undefined, { deadline: Date.now() + 300 }),
    ]);

    // Assess
    await expect(history).rejects.toMatchObject({ failure: 'unavailable' });
    for (const call of await guardCalls) {
      expect(call).toMatchObject({ status: 'rejected', reason: { name: 'AbortError' } });
    }
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(simulator.stats().loginRequests).toBe(loginsBefore);
    client.destroy();
  });
});
