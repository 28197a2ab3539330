import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseServiceConfig } from '../../functions/commons/configuration';
import { buildHistoryDependencies } from '../../functions/commons/history-dependencies';
import { makeHandler } from '../../functions/get-history-api';
import { makeHandler as makeInvokeHandler } from '../../functions/get-history-invoke';
import { DEMO_CREDENTIALS, startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { useTestDynamoDb } from '../support/dynamodb';
import { historyRequestEvent, lambdaContext } from '../support/lambda';
import { nextDeviceId, TEST_ACCOUNT, upgradeRecord } from '../support/records';

type Handler = typeof import('../../functions/get-history-api')['handler'];
type InvokeHandler = typeof import('../../functions/get-history-invoke')['handler'];

const SECRET_ID = 'thingspace-fota-history/credentials';
const db = useTestDynamoDb();
const secretsManager = mockClient(SecretsManagerClient);
let simulator: ThingSpaceSimulator;
let handler: Handler;
let invokeHandler: InvokeHandler;

beforeAll(async () => {
  simulator = await startThingSpaceSimulator({ credentials: DEMO_CREDENTIALS });
  const tableName = await db.createTestTable();
  const config = parseServiceConfig({
    TABLE_NAME: tableName,
    DYNAMODB_ENDPOINT: db.endpoint,
    THINGSPACE_BASE_URL: simulator.url,
    THINGSPACE_SECRET_ID: SECRET_ID,
    THINGSPACE_MAX_ATTEMPTS: '2',
    THINGSPACE_RETRY_BASE_MS: '1',
  });
  // Each function has an execution environment of its own, as deployed.
  const history = buildHistoryDependencies(config);
  const invoke = buildHistoryDependencies(config);
  handler = makeHandler(() => history);
  invokeHandler = makeInvokeHandler(() => invoke);
});

beforeEach(() => {
  secretsManager.reset();
  simulator.reset();
});

afterAll(async () => {
  secretsManager.restore();
  await simulator.close();
});

function sdkError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: {} });
}

async function getHistory(deviceId: string): Promise<APIGatewayProxyResult> {
  return handler(historyRequestEvent({ account: TEST_ACCOUNT, deviceId }), lambdaContext());
}

const CREDENTIALS_UNAVAILABLE = {
  errorCode: 'CREDENTIALS_UNAVAILABLE',
  errorMessage:
    'This service could not read its ThingSpace credentials (the secret); ThingSpace was not called and nothing is archived for this device',
};

describe('a ThingSpace secret that cannot be read (handler, Secrets Manager)', () => {
  it.each([
    [
      'missing',
      () =>
        secretsManager
          .on(GetSecretValueCommand)
          .rejects(sdkError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.")),
    ],
    [
      'access denied',
      () =>
        secretsManager.on(GetSecretValueCommand).rejects(sdkError('AccessDeniedException', 'User is not authorized')),
    ],
    ['not JSON', () => secretsManager.on(GetSecretValueCommand).resolves({ SecretString: 'appKey=not-json-content' })],
    [
      'the wrong shape',
      () => secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '["not-an-object-content"]' }),
    ],
  ])(
    'answers 502 CREDENTIALS_UNAVAILABLE when it is %s, without calling ThingSpace or echoing it',
    async (_, arrange) => {
      // Prepare
      arrange();
      const output = vi.spyOn(process.stdout, 'write');

      // Act
      const result = await getHistory(nextDeviceId());

      // Assess
      expect(result.statusCode).toBe(502);
      expect(JSON.parse(result.body)).toEqual(CREDENTIALS_UNAVAILABLE);
      expect(simulator.stats().requests).toBe(0);
      const logged = output.mock.calls.map(([chunk]) => String(chunk)).join('');
      output.mockRestore();
      expect(result.body + logged).not.toContain('content');
    },
  );

  it('answers from the archive, marked stale, when the device has archived records', async () => {
    // Prepare: archive a record while the secret is readable (past the cache of the bad secrets above)
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 10 * 60_000 });
    const deviceId = nextDeviceId();
    const records = [upgradeRecord({ deviceId, id: `${deviceId}-1` })];
    simulator.setHistory(TEST_ACCOUNT, deviceId, records);
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(DEMO_CREDENTIALS) });
    expect((await getHistory(deviceId)).statusCode).toBe(200);
    // A new execution environment would read the secret again: make the cached one expire.
    vi.setSystemTime(Date.now() + 10 * 60_000);
    secretsManager.reset();
    secretsManager.on(GetSecretValueCommand).rejects(sdkError('AccessDeniedException', 'User is not authorized'));

    // Act
    const result = await getHistory(deviceId);
    vi.useRealTimers();

    // Assess
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({ 'X-History-Stale': 'true' });
    expect(JSON.parse(result.body)).toEqual(records);
  });

  it('throws CREDENTIALS_UNAVAILABLE from a direct invocation', async () => {
    // Prepare: past the cache of the secrets read above
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 60 * 60_000 });
    secretsManager.on(GetSecretValueCommand).rejects(sdkError('ResourceNotFoundException', 'not found'));

    // Act
    const error = await invokeHandler({ account: TEST_ACCOUNT, deviceId: nextDeviceId() }, lambdaContext()).then(
      () => undefined,
      (caught: unknown) => caught as Error,
    );
    vi.useRealTimers();

    // Assess
    expect(error?.name).toBe('CREDENTIALS_UNAVAILABLE');
  });
});
