import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient, type DocumentClientOptions } from '../../adapters/dynamodb/client';
import { DynamoDbHistoryStore } from '../../adapters/dynamodb/dynamodb-history-store';
import { planArchiveWrites } from '../../domain/archive-plan';
import { buildHistoryDependencies } from '../../functions/commons/history-dependencies';
import { makeHandler } from '../../functions/get-history-api';
import { DEMO_CREDENTIALS, startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { handlerConfig } from '../support/handler-environment';
import { historyRequestEvent, lambdaContext } from '../support/lambda';
import { nextDeviceId, TEST_ACCOUNT, upgradeRecord } from '../support/records';

/** One answer of the DynamoDB JSON protocol. */
interface Answer {
  status: number;
  body: Record<string, unknown>;
}

const ok = (body: Record<string, unknown> = {}): Answer => ({ status: 200, body });
const refusal = (type: string, message: string): Answer => ({
  status: 400,
  body: { __type: `com.amazonaws.dynamodb.v20120810#${type}`, message },
});
const throttled = refusal('ProvisionedThroughputExceededException', 'Rate exceeded');
const conditionFailed = refusal('ConditionalCheckFailedException', 'The conditional request failed');

/**
 * A DynamoDB endpoint that answers each request from the test's script: the throttling that a real
 * table (or dynalite) cannot be made to answer on demand, sent over real HTTP, so the SDK's own retry
 * strategy is what retries it.
 */
let script: (operation: string, nth: number, body: { Item?: { sk?: { S?: string } } }) => Answer;
let operations: string[] = [];
/** PutItems of upgrade items (sort key UPGRADE#...), as opposed to sync states and the login guard's record. */
let upgradePuts = 0;
const server = createServer((request: IncomingMessage, response: ServerResponse) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const operation = String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    operations.push(operation);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    if (operation === 'PutItem' && body.Item?.sk?.S?.startsWith('UPGRADE#')) upgradePuts += 1;
    const answer = script(operation, operations.filter((seen) => seen === operation).length, body);
    response.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.0' });
    response.end(JSON.stringify(answer.body));
  });
});
let endpoint: string;
let simulator: ThingSpaceSimulator;
let handler: ReturnType<typeof makeHandler>;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  simulator = await startThingSpaceSimulator({ credentials: DEMO_CREDENTIALS });
  const dependencies = buildHistoryDependencies(
    handlerConfig({ tableName: 'fota-history', dynamoDbEndpoint: endpoint, thingspaceUrl: simulator.url }),
  );
  handler = makeHandler(() => dependencies);
});

afterAll(async () => {
  await simulator.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  operations = [];
  upgradePuts = 0;
});

function storeWith(client: DocumentClientOptions = {}, defaultBudgetMs?: number) {
  const documents = createDocumentClient({ endpoint, retryBackoff: { baseMs: 1, capMs: 5 }, ...client });
  return new DynamoDbHistoryStore({ client: documents, tableName: 'fota-history', retry: { defaultBudgetMs } });
}

const count = (operation: string) => operations.filter((seen) => seen === operation).length;
const device = () => ({ account: TEST_ACCOUNT, deviceId: nextDeviceId() });

describe('DynamoDB throttling, retried by the SDK within the deadline', () => {
  it('retries a throttled write until it is stored', async () => {
    // Prepare
    script = (operation, nth) => (operation === 'PutItem' && nth <= 3 ? throttled : ok());
    const target = device();
    const writes = planArchiveWrites([upgradeRecord({ deviceId: target.deviceId, id: 'u1' })], [], '2026-06-02');

    // Act
    const result = await storeWith().applyWrites(target, writes, { deadline: Date.now() + 10_000 });

    // Assess
    expect(result).toEqual({ inserted: 1, updated: 0, unchanged: 0, skipped: 0 });
    expect(count('PutItem')).toBe(4);
  });

  it('retries a throttled read until it is answered', async () => {
    // Prepare
    script = (operation, nth) => (operation === 'GetItem' && nth <= 2 ? throttled : ok());

    // Act
    const state = await storeWith().getSyncState(device(), { deadline: Date.now() + 10_000 });

    // Assess
    expect(state).toBeUndefined();
    expect(count('GetItem')).toBe(3);
  });

  it('keeps retrying throttling on a client whose SDK retry quota (500, 5 a throttled retry) would be spent', async () => {
    // Prepare: one client for 40 reads, each answered only after 4 throttled attempts: 160 retries.
    let throttledInARow = 0;
    script = (operation) => {
      if (operation !== 'GetItem') return ok();
      throttledInARow = (throttledInARow + 1) % 5;
      return throttledInARow === 0 ? ok() : throttled;
    };
    const store = storeWith();
    const target = device();

    // Act
    for (let read = 0; read < 40; read += 1) {
      await store.getSyncState(target, { deadline: Date.now() + 10_000 });
    }

    // Assess: every read was answered (a spent quota fails a throttled call at its first answer).
    expect(count('GetItem')).toBe(200);
  });

  it("keeps retrying throttling until the caller's deadline, then gives up", async () => {
    // Prepare: waits of about 40 ms, so the attempts would outlast the deadline.
    script = () => throttled;
    const store = storeWith({ retryBackoff: { baseMs: 40, capMs: 40 }, random: () => 0.99 });
    const startedAt = Date.now();
    const deadline = startedAt + 400;

    // Act
    const attempt = store.recordSyncOutcome(
      device(),
      { syncedAt: new Date().toISOString(), outcome: 'success' },
      {
        deadline,
      },
    );

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now()).toBeGreaterThanOrEqual(deadline - 5);
    expect(Date.now() - deadline).toBeLessThan(2_000);
    expect(count('PutItem')).toBeGreaterThan(2);
  });

  it("never waits past the caller's deadline for the next attempt", async () => {
    // Prepare: the SDK would wait 10 s before its second attempt.
    script = () => throttled;
    const store = storeWith({ retryBackoff: { baseMs: 10_000, capMs: 10_000, jitter: 'none' } });
    const startedAt = Date.now();

    // Act
    const attempt = store.getSyncState(device(), { deadline: startedAt + 300 });

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(count('GetItem')).toBe(1);
  });

  it('gives up within the default budget when the caller sets no deadline', async () => {
    // Prepare
    script = () => throttled;
    const store = storeWith({ retryBackoff: { baseMs: 10_000, capMs: 10_000, jitter: 'none' } }, 300);
    const startedAt = Date.now();

    // Act
    const attempt = store.hasArchivedUpgrades(device());

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - startedAt).toBeLessThan(5_000);
  });

  it('does not retry a write whose condition failed', async () => {
    // Prepare: an older outcome than the stored one is refused by its condition.
    script = (operation) => (operation === 'PutItem' ? conditionFailed : ok());

    // Act
    const recording = storeWith().recordSyncOutcome(device(), {
      syncedAt: '2024-05-02T00:00:00.000Z',
      outcome: 'success',
    });

    // Assess
    await expect(recording).resolves.toBeUndefined();
    expect(count('PutItem')).toBe(1);
  });
});

describe('the history API over a throttling DynamoDB', () => {
  /** The archive is empty and the login guard has no record: every read answers nothing, other writes land. */
  const upgradeWritesThrottled = (times: number): typeof script => {
    let throttledSoFar = 0;
    return (operation, _nth, body) => {
      if (operation === 'Query') return ok({ Items: [], Count: 0, ScannedCount: 0 });
      const upgradeWrite = operation === 'PutItem' && body.Item?.sk?.S?.startsWith('UPGRADE#') === true;
      if (upgradeWrite && throttledSoFar < times) {
        throttledSoFar += 1;
        return throttled;
      }
      return ok();
    };
  };
  it('retries a throttled write until it lands and answers 200', async () => {
    // Prepare
    script = upgradeWritesThrottled(2);
    const deviceId = nextDeviceId();
    const records = [upgradeRecord({ deviceId, id: `${deviceId}-1` })];
    simulator.setHistory(TEST_ACCOUNT, deviceId, records);

    // Act
    const result = await handler(historyRequestEvent({ account: TEST_ACCOUNT, deviceId }), lambdaContext());

    // Assess
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual(records);
    expect(upgradePuts).toBe(3);
  });

  it('answers 503 rather than an unarchived history when writes keep being throttled past the deadline', async () => {
    // Prepare
    script = upgradeWritesThrottled(Number.POSITIVE_INFINITY);
    const deviceId = nextDeviceId();
    simulator.setHistory(TEST_ACCOUNT, deviceId, [upgradeRecord({ deviceId, id: `${deviceId}-1` })]);
    const budgetMs = 3_500;
    const startedAt = Date.now();

    // Act: a Lambda with little time left, so the SDK's throttling retries run into the store deadline.
    const result = await handler(historyRequestEvent({ account: TEST_ACCOUNT, deviceId }), lambdaContext(budgetMs));

    // Assess
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body)).toMatchObject({ errorCode: 'ARCHIVE_UNAVAILABLE' });
    expect(Date.now() - startedAt).toBeLessThan(budgetMs);
    expect(upgradePuts).toBeGreaterThan(1);
  });
});
