import { randomUUID } from 'node:crypto';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbHistoryStore } from '../../adapters/dynamodb/dynamodb-history-store';
import { UPGRADE_RECORD_FIELDS, type UpgradeRecord } from '../../domain/upgrade-record';
import { buildHistoryDependencies } from '../../functions/commons/history-dependencies';
import { makeHandler } from '../../functions/get-history-api';
import { DEMO_CREDENTIALS, startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { useTestDynamoDb } from '../support/dynamodb';
import { handlerConfig } from '../support/handler-environment';
import { historyRequestEvent, lambdaContext } from '../support/lambda';
import { nextDeviceId, TEST_ACCOUNT, upgradeRecord } from '../support/records';

type Handler = typeof import('../../functions/get-history-api')['handler'];

const db = useTestDynamoDb();
let simulator: ThingSpaceSimulator;
let store: DynamoDbHistoryStore;
let handler: Handler;

beforeAll(async () => {
  simulator = await startThingSpaceSimulator({ credentials: DEMO_CREDENTIALS });
  const tableName = await db.createTestTable();
  const config = handlerConfig(
    { tableName, dynamoDbEndpoint: db.endpoint, thingspaceUrl: simulator.url },
    { THINGSPACE_TIMEOUT_MS: '1000', THINGSPACE_MAX_ATTEMPTS: '3' },
  );
  const dependencies = buildHistoryDependencies(config);
  handler = makeHandler(() => dependencies);
  store = new DynamoDbHistoryStore({ client: db.client, tableName });
});

afterAll(async () => {
  await simulator.close();
});

async function getHistory(account: string, deviceId: string): Promise<APIGatewayProxyResult> {
  return handler(historyRequestEvent({ account, deviceId }), lambdaContext());
}

function body(result: APIGatewayProxyResult): unknown {
  return JSON.parse(result.body);
}

/** A device with `count` upgrades, one per month, oldest first in ThingSpace's answer. */
function deviceWithHistory(count: number): { deviceId: string; records: UpgradeRecord[] } {
  const deviceId = nextDeviceId();
  const records = Array.from({ length: count }, (_, index) => {
    const month = String(index + 1).padStart(2, '0');
    return upgradeRecord({
      deviceId,
      id: randomUUID(),
      startDate: `2026-${month}-05`,
      upgradeStartTime: `2026-${month}-05T10:00:00Z`,
    });
  });
  simulator.setHistory(TEST_ACCOUNT, deviceId, records);
  return { deviceId, records };
}

describe('GET /reports/{account}/devices/{deviceId}', () => {
  it("answers 200 with exactly ThingSpace's nine fields, newest first by startDate, upgradeStartTime, id", async () => {
    // Prepare
    const deviceId = nextDeviceId();
    const base = { deviceId, accountName: TEST_ACCOUNT };
    simulator.setHistory(TEST_ACCOUNT, deviceId, [
      upgradeRecord({ ...base, id: 'a', startDate: '2026-01-01', upgradeStartTime: '2026-01-01T01:00:00Z' }),
      upgradeRecord({ ...base, id: 'b', startDate: '2026-03-01', upgradeStartTime: '2026-03-01T01:00:00Z' }),
      upgradeRecord({ ...base, id: 'c', startDate: '2026-03-01', upgradeStartTime: '2026-03-01T09:00:00Z' }),
      upgradeRecord({ ...base, id: 'd', startDate: '2026-03-01', upgradeStartTime: '2026-03-01T09:00:00Z' }),
      upgradeRecord({ ...base, id: 'e', startDate: '2026-03-01', upgradeStartTime: '', status: 'RequestPending' }),
      { ...upgradeRecord({ ...base, id: 'f', startDate: '2025-12-24' }), campaign: 'not documented' } as UpgradeRecord,
    ]);

    // Act
    const result = await getHistory(TEST_ACCOUNT, deviceId);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['Content-Type']).toBe('application/json');
    expect(result.headers?.['X-History-Stale']).toBeUndefined();
    const records = body(result) as UpgradeRecord[];
    expect(records.map((record) => record.id)).toEqual(['e', 'd', 'c', 'b', 'a', 'f']);
    for (const record of records) expect(Object.keys(record).sort()).toEqual([...UPGRADE_RECORD_FIELDS].sort());
  });

  it('keeps answering with records after ThingSpace no longer returns them', async () => {
    // Prepare
    const { deviceId, records } = deviceWithHistory(3);
    await getHistory(TEST_ACCOUNT, deviceId);
    simulator.removeRecord(TEST_ACCOUNT, deviceId, records[0]!.id);
    simulator.removeRecord(TEST_ACCOUNT, deviceId, records[1]!.id);

    // Act
    const result = await getHistory(TEST_ACCOUNT, deviceId);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['X-History-Stale']).toBeUndefined();
    expect(body(result)).toEqual([...records].reverse());
  });

  it('updates a record whose status changed, logs the change once, and never duplicates it', async () => {
    // Prepare
    const { deviceId, records } = deviceWithHistory(2);
    const changing = records[1]!;
    simulator.updateRecord(TEST_ACCOUNT, deviceId, changing.id, { status: 'UpgradeFailed', reason: 'timed out' });
    await getHistory(TEST_ACCOUNT, deviceId);
    simulator.updateRecord(TEST_ACCOUNT, deviceId, changing.id, { status: 'UpgradeSuccess', reason: 'success' });

    // Act
    const changed = await getHistory(TEST_ACCOUNT, deviceId);
    await getHistory(TEST_ACCOUNT, deviceId);

    // Assess
    const answered = body(changed) as UpgradeRecord[];
    expect(answered.filter((record) => record.id === changing.id)).toEqual([changing]);
    const archived = await store.listUpgrades({ account: TEST_ACCOUNT, deviceId });
    expect(archived).toHaveLength(2);
    const log = archived.find((upgrade) => upgrade.record.id === changing.id)!.statusLog;
    expect(log.map((entry) => entry.status)).toEqual(['UpgradeFailed', 'UpgradeSuccess']);
    expect(log[1]!.changedFields).toEqual(['status', 'reason']);
    expect(Date.parse(log[1]!.observedAt)).toBeGreaterThan(Date.parse(log[0]!.observedAt));
  });

  it('writes nothing to DynamoDB when ThingSpace shows nothing new', async () => {
    // Prepare
    const { deviceId } = deviceWithHistory(10);
    await getHistory(TEST_ACCOUNT, deviceId);
    const send = vi.spyOn(DynamoDBDocumentClient.prototype, 'send');

    // Act
    const result = await getHistory(TEST_ACCOUNT, deviceId);

    // Assess
    expect(result.statusCode).toBe(200);
    const writes = send.mock.calls.filter(
      ([command]) => command instanceof PutCommand || command instanceof UpdateCommand,
    );
    expect(writes).toHaveLength(0);
    expect(send).toHaveBeenCalled();
    send.mockRestore();
  });

  it('writes each record once when 30 first requests for one device arrive together', async () => {
    // Prepare
    const { deviceId, records } = deviceWithHistory(5);

    // Act
    const results = await Promise.all(Array.from({ length: 30 }, () => getHistory(TEST_ACCOUNT, deviceId)));

    // Assess
    for (const result of results) expect(body(result)).toEqual([...records].reverse());
    const archived = await store.listUpgrades({ account: TEST_ACCOUNT, deviceId });
    expect(archived.map((upgrade) => upgrade.record.id).sort()).toEqual(records.map((record) => record.id).sort());
    for (const upgrade of archived) expect(upgrade.statusLog).toHaveLength(1);
  });
});

describe('bad path parameters', () => {
  it.each([
    ['letters in the account', 'abc', '990000473475989'],
    ['an account suffix that is not numeric', '0242078689-0000x', '990000473475989'],
    ['an oversized account', '1'.repeat(40), '990000473475989'],
    ['a path in the account', '../../oauth2', '990000473475989'],
    ['an empty account', '', '990000473475989'],
    ['a short IMEI', TEST_ACCOUNT, '12345'],
    ['a long IMEI', TEST_ACCOUNT, '12345678901234567'],
    ['a letter in the IMEI', TEST_ACCOUNT, '99000047347598a'],
    ['non-ASCII digits in the IMEI', TEST_ACCOUNT, '٩٩٠٠٠٠٤٧٣٤٧٥٩٨٩'],
    ['a query in the IMEI', TEST_ACCOUNT, '990000473475989?x=1'],
  ])('rejects %s with 400 INVALID_PARAMETER and no call to ThingSpace', async (_case, account, deviceId) => {
    // Prepare
    const requestsBefore = simulator.stats().requests;

    // Act
    const result = await getHistory(account, deviceId);

    // Assess
    expect(result.statusCode).toBe(400);
    expect(result.headers?.['Content-Type']).toBe('application/json');
    expect(body(result)).toEqual({
      errorCode: 'INVALID_PARAMETER',
      errorMessage: expect.stringMatching(/^Invalid (account name|device id) format/),
    });
    expect(simulator.stats().requests).toBe(requestsBefore);
  });

  it('rejects an event without path parameters the same way', async () => {
    const result = await handler(historyRequestEvent(null), lambdaContext());

    expect(result.statusCode).toBe(400);
    expect(body(result)).toMatchObject({ errorCode: 'INVALID_PARAMETER' });
  });
});

describe('ThingSpace sessions', () => {
  it('reuses one OAuth token and one session across invocations', async () => {
    // Prepare
    const { deviceId } = deviceWithHistory(1);
    await getHistory(TEST_ACCOUNT, deviceId);
    const before = simulator.stats();

    // Act
    for (let request = 0; request < 5; request += 1) await getHistory(TEST_ACCOUNT, deviceId);

    // Assess
    const after = simulator.stats();
    expect(after.tokenRequests - before.tokenRequests).toBe(0);
    expect(after.loginsOk - before.loginsOk).toBe(0);
    expect(after.historyCalls - before.historyCalls).toBe(5);
  });

  it('renews an expired OAuth token once and retries the call', async () => {
    // Prepare
    const { deviceId, records } = deviceWithHistory(1);
    await getHistory(TEST_ACCOUNT, deviceId);
    simulator.expireAccessTokens();
    const before = simulator.stats();

    // Act
    const result = await getHistory(TEST_ACCOUNT, deviceId);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(body(result)).toEqual(records);
    const after = simulator.stats();
    expect(after.tokensIssued - before.tokensIssued).toBe(1);
    expect(after.historyCalls - before.historyCalls).toBe(2);
  });

  it('logs in again once when ThingSpace says the session expired', async () => {
    // Prepare
    const { deviceId, records } = deviceWithHistory(1);
    await getHistory(TEST_ACCOUNT, deviceId);
    simulator.expireSessions();
    const before = simulator.stats();

    // Act
    const result = await getHistory(TEST_ACCOUNT, deviceId);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(body(result)).toEqual(records);
    const after = simulator.stats();
    expect(after.loginsOk - before.loginsOk).toBe(1);
    expect(after.historyCalls - before.historyCalls).toBe(2);
  });
});

describe('ThingSpace failures', () => {
  it('passes a ThingSpace 4xx through with its status and error body', async () => {
    // Prepare
    const { deviceId } = deviceWithHistory(1);
    const refusal = { errorCode: 'INVALID_PARAMETER', errorMessage: 'Inactive account' };
    simulator.failNext(1, 400, { body: refusal });

    // Act
    const result = await getHistory(TEST_ACCOUNT, deviceId);

    // Assess
    expect(result.statusCode).toBe(400);
    expect(body(result)).toEqual(refusal);
  });

  it('passes an unknown account through as ThingSpace reports it', async () => {
    const result = await getHistory('0999999999-00001', '990000473475989');

    expect(result.statusCode).toBe(400);
    expect(body(result)).toMatchObject({ errorCode: 'UnifiedWebService.REQUEST_FAILED.AccountNotFound' });
  });

  it('retries a 5xx and answers with the live history', async () => {
    // Prepare
    const { deviceId, records } = deviceWithHistory(2);
    simulator.failNext(2, 503);
    const before = simulator.stats().historyCalls;

    // Act
    const result = await getHistory(TEST_ACCOUNT, deviceId);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(body(result)).toEqual([...records].reverse());
    expect(simulator.stats().historyCalls - before).toBe(3);
  });

  it('answers from the archive with X-History-Stale when ThingSpace keeps failing', async () => {
    // Prepare
    const { deviceId, records } = deviceWithHistory(2);
    await getHistory(TEST_ACCOUNT, deviceId);
    simulator.failNext(3, 500);

    // Act
    const result = await getHistory(TEST_ACCOUNT, deviceId);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['X-History-Stale']).toBe('true');
    expect(body(result)).toEqual([...records].reverse());
  });

  it("answers 502 in ThingSpace's error shape when ThingSpace is down and nothing is archived", async () => {
    // Prepare
    const { deviceId } = deviceWithHistory(2);
    simulator.failNext(3, 500);

    // Act
    const result = await getHistory(TEST_ACCOUNT, deviceId);

    // Assess
    expect(result.statusCode).toBe(502);
    expect(body(result)).toEqual({ errorCode: 'UPSTREAM_UNAVAILABLE', errorMessage: expect.any(String) });
    expect(result.body).not.toMatch(/\bat .+\.(ts|js|mjs):\d+/);
  });

  it('answers 504 when ThingSpace times out and nothing is archived', async () => {
    // Prepare
    const { deviceId } = deviceWithHistory(1);
    simulator.hangNext(3);

    // Act
    const result = await getHistory(TEST_ACCOUNT, deviceId);

    // Assess
    expect(result.statusCode).toBe(504);
    expect(body(result)).toEqual({ errorCode: 'UPSTREAM_TIMEOUT', errorMessage: expect.any(String) });
  });

  it.each(['truncated', 'wrong-shape'] as const)(
    'never archives a %s answer, and serves the archive instead',
    async (kind) => {
      // Prepare
      const { deviceId, records } = deviceWithHistory(1);
      await getHistory(TEST_ACCOUNT, deviceId);
      simulator.setHistory(TEST_ACCOUNT, deviceId, [...records, upgradeRecord({ deviceId, id: `new-${kind}` })]);
      simulator.malformNext(1, kind);

      // Act
      const result = await getHistory(TEST_ACCOUNT, deviceId);

      // Assess
      expect(result.statusCode).toBe(200);
      expect(result.headers?.['X-History-Stale']).toBe('true');
      expect(body(result)).toEqual(records);
      const archived = await store.listUpgrades({ account: TEST_ACCOUNT, deviceId });
      expect(archived.map((upgrade) => upgrade.record)).toEqual(records);
    },
  );

  it('answers 502 to a malformed answer when nothing is archived, and archives nothing', async () => {
    // Prepare
    const { deviceId } = deviceWithHistory(2);
    simulator.malformNext(1, 'truncated');

    // Act
    const result = await getHistory(TEST_ACCOUNT, deviceId);

    // Assess
    expect(result.statusCode).toBe(502);
    expect(body(result)).toMatchObject({ errorCode: 'UPSTREAM_UNAVAILABLE' });
    expect(await store.listUpgrades({ account: TEST_ACCOUNT, deviceId })).toEqual([]);
  });
});

describe('a hostile ThingSpace', () => {
  it("serves and archives only the requested device's well-formed records, and counts the others by reason", async () => {
    // Prepare
    const deviceId = nextDeviceId();
    const newer = upgradeRecord({ deviceId, id: randomUUID(), startDate: '2026-06-02' });
    const older = upgradeRecord({ deviceId, id: randomUUID(), startDate: '2026-06-01' });
    const { reason: _, ...withoutReason } = upgradeRecord({ deviceId, id: randomUUID() });
    simulator.injectFault(
      {
        kind: 'status',
        status: 200,
        body: [
          older,
          upgradeRecord({ deviceId: nextDeviceId(), id: randomUUID() }),
          upgradeRecord({ deviceId, accountName: '0242078689-00002', id: randomUUID() }),
          withoutReason,
          upgradeRecord({ deviceId, id: 'x'.repeat(2000) }),
          upgradeRecord({ deviceId, id: randomUUID(), reason: 'r'.repeat(300_000) }),
          newer,
        ],
      },
      1,
      deviceId,
    );
    const dimensions = vi.spyOn(Metrics.prototype, 'addDimension');
    const added = vi.spyOn(Metrics.prototype, 'addMetric');

    // Act
    const result = await getHistory(TEST_ACCOUNT, deviceId).finally(() => vi.restoreAllMocks());

    // Assess
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['X-History-Stale']).toBeUndefined();
    expect(body(result)).toEqual([newer, older]);
    const archived = await store.listUpgrades({ account: TEST_ACCOUNT, deviceId });
    expect(archived.map((upgrade) => upgrade.record).sort((a, b) => a.startDate.localeCompare(b.startDate))).toEqual([
      older,
      newer,
    ]);
    const droppedMetrics = added.mock.calls
      .filter(([name]) => name === 'UpstreamRecordsDropped')
      .map(([, , value]) => value);
    expect(droppedMetrics).toEqual([2, 1, 2]);
    expect(dimensions.mock.calls).toEqual(
      expect.arrayContaining([
        ['reason', 'other-device'],
        ['reason', 'missing-field'],
        ['reason', 'invalid-field'],
      ]),
    );
  });

  it.each([
    ['nothing is archived', false, 502],
    ['the device is archived', true, 200],
  ])('treats a 302 as ThingSpace failing, never follows it, when %s', async (_, archivedFirst, status) => {
    // Prepare
    const { deviceId, records } = deviceWithHistory(1);
    if (archivedFirst) await getHistory(TEST_ACCOUNT, deviceId);
    simulator.injectFault(
      { kind: 'status', status: 302, headers: { location: `${simulator.url}/elsewhere` } },
      1,
      deviceId,
    );
    const before = simulator.stats().requests;

    // Act
    const result = await getHistory(TEST_ACCOUNT, deviceId);

    // Assess
    expect(result.statusCode).toBe(status);
    if (archivedFirst) {
      expect(result.headers?.['X-History-Stale']).toBe('true');
      expect(body(result)).toEqual(records);
    } else {
      expect(body(result)).toEqual({ errorCode: 'UPSTREAM_UNAVAILABLE', errorMessage: expect.any(String) });
    }
    expect(simulator.stats().requests - before).toBe(1);
  });

  it('passes a 4xx through without the tokens it echoed', async () => {
    // Prepare
    const { deviceId } = deviceWithHistory(1);
    await getHistory(TEST_ACCOUNT, deviceId);
    simulator.injectFault({ kind: 'echo-tokens' }, 1, deviceId);

    // Act
    const result = await getHistory(TEST_ACCOUNT, deviceId);

    // Assess
    expect(result.statusCode).toBe(400);
    expect(body(result)).toEqual({
      errorCode: 'UnifiedWebService.REQUEST_FAILED.[REDACTED]',
      errorMessage: 'Rejected Bearer [REDACTED] with VZ-M2M-Token [REDACTED]',
    });
    for (const token of simulator.issuedTokens()) expect(result.body).not.toContain(token);
  });
});
