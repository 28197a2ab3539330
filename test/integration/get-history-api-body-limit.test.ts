import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DynamoDbHistoryStore } from '../../adapters/dynamodb/dynamodb-history-store';
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
    { THINGSPACE_MAX_BODY_BYTES: '2000' },
  );
  const dependencies = buildHistoryDependencies(config);
  handler = makeHandler(() => dependencies);
  store = new DynamoDbHistoryStore({ client: db.client, tableName });
});

afterAll(async () => {
  await simulator.close();
});

function deviceWith(count: number) {
  const deviceId = nextDeviceId();
  const records = Array.from({ length: count }, () => upgradeRecord({ deviceId, id: randomUUID() }));
  simulator.setHistory(TEST_ACCOUNT, deviceId, records);
  return { deviceId, records };
}

it('reads THINGSPACE_MAX_BODY_BYTES: a larger answer is malformed and nothing of it is archived', async () => {
  // Prepare: about 300 bytes a record
  const small = deviceWith(2);
  const large = deviceWith(20);

  // Act
  const served = await handler(
    historyRequestEvent({ account: TEST_ACCOUNT, deviceId: small.deviceId }),
    lambdaContext(),
  );
  const refused = await handler(
    historyRequestEvent({ account: TEST_ACCOUNT, deviceId: large.deviceId }),
    lambdaContext(),
  );

  // Assess
  expect(served.statusCode).toBe(200);
  expect(JSON.parse(served.body)).toHaveLength(2);
  expect(refused.statusCode).toBe(502);
  expect(JSON.parse(refused.body)).toMatchObject({ errorCode: 'UPSTREAM_UNAVAILABLE' });
  expect(await store.listUpgrades({ account: TEST_ACCOUNT, deviceId: large.deviceId })).toEqual([]);
});
