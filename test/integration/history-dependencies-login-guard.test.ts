import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LOGIN_GUARD_PARTITION_KEY } from '../../adapters/dynamodb/table-schema';
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
let tableName: string;
let handler: Handler;

beforeAll(async () => {
  simulator = await startThingSpaceSimulator({ credentials: DEMO_CREDENTIALS });
  tableName = await db.createTestTable();
  const config = handlerConfig(
    { tableName, dynamoDbEndpoint: db.endpoint, thingspaceUrl: simulator.url },
    { THINGSPACE_TIMEOUT_MS: '1000' },
  );
  const dependencies = buildHistoryDependencies(config);
  handler = makeHandler(() => dependencies);
});

afterAll(async () => {
  await simulator.close();
});

it('records a failed login in the history table, then answers from the archive or 502 UPSTREAM_AUTH_FAILED without another login', async () => {
  // Prepare: one archived device, then the password changes in the portal and the session expires.
  const archived = nextDeviceId();
  const unarchived = nextDeviceId();
  simulator.setHistory(TEST_ACCOUNT, archived, [upgradeRecord({ deviceId: archived, id: 'u1' })]);
  simulator.setHistory(TEST_ACCOUNT, unarchived, [upgradeRecord({ deviceId: unarchived, id: 'u2' })]);
  const ask = (deviceId: string) => handler(historyRequestEvent({ account: TEST_ACCOUNT, deviceId }), lambdaContext());
  expect((await ask(archived)).statusCode).toBe(200);
  simulator.setCredentials({ ...DEMO_CREDENTIALS, password: 'changed-in-the-portal' });
  simulator.expireSessions();

  // Act
  const refused = await ask(archived);
  const heldBack = await ask(unarchived);
  const heldBackStale = await ask(archived);

  // Assess
  expect(refused.statusCode).toBe(200);
  expect(refused.headers?.['X-History-Stale']).toBe('true');
  expect(heldBack.statusCode).toBe(502);
  expect(JSON.parse(heldBack.body)).toEqual({ errorCode: 'UPSTREAM_AUTH_FAILED', errorMessage: expect.any(String) });
  expect(heldBackStale.headers?.['X-History-Stale']).toBe('true');
  expect(simulator.stats()).toMatchObject({ loginRequests: 2, loginsOk: 1, loginsFailed: 1 });
  const { Items } = await db.client.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': LOGIN_GUARD_PARTITION_KEY },
      ConsistentRead: true,
    }),
  );
  expect(Items).toEqual([
    expect.objectContaining({
      type: 'login-guard',
      attempts: 1,
      lastOutcome: 'HTTP 400 UnifiedWebService.AUTH.Failed',
      pausedUntil: expect.any(Number),
    }),
  ]);
});
