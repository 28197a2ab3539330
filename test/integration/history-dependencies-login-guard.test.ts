import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LOGIN_GUARD_PARTITION_KEY } from '../../adapters/dynamodb/table-schema';
import { isThingSpaceError } from '../../domain/thingspace-error';
import { DEMO_ACCOUNT, DEMO_CREDENTIALS, startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { useTestDynamoDb } from '../support/dynamodb';
import { useHandlerEnvironment } from '../support/handler-environment';

const db = useTestDynamoDb();
const savedEnv = { ...process.env };
let simulator: ThingSpaceSimulator;
let tableName: string;

beforeAll(async () => {
  simulator = await startThingSpaceSimulator({ credentials: { ...DEMO_CREDENTIALS, password: 'changed-in-the-portal' } });
  tableName = await db.createTestTable();
  useHandlerEnvironment({ tableName, dynamoDbEndpoint: db.endpoint, thingspaceUrl: simulator.url }, { THINGSPACE_TIMEOUT_MS: '1000' });
});

afterAll(async () => {
  process.env = savedEnv;
  await simulator.close();
});

it('gives every Lambda\'s ThingSpace client the login guard in the history table', async () => {
  // Prepare
  const { historyDependencies } = await import('../../functions/commons/history-dependencies');

  // Act
  const failure = await historyDependencies()
    .thingspace.getDeviceHistory({ account: DEMO_ACCOUNT, deviceId: '990000473475989' })
    .then(() => undefined, (error: unknown) => error);

  // Assess
  expect(isThingSpaceError(failure) && failure.failure).toBe('auth');
  const { Items } = await db.client.send(
    new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': LOGIN_GUARD_PARTITION_KEY }, ConsistentRead: true }),
  );
  expect(Items).toEqual([expect.objectContaining({ type: 'login-guard', attempts: 1, lastOutcome: 'HTTP 400 UnifiedWebService.AUTH.Failed', pausedUntil: expect.any(Number) })]);
  expect(simulator.stats()).toMatchObject({ loginRequests: 1, loginsFailed: 1 });
});
