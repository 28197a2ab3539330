import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseServiceConfig, type ServiceConfig } from '../../functions/commons/configuration';
import { buildHistoryDependencies } from '../../functions/commons/history-dependencies';
import { logger } from '../../functions/commons/powertools';
import { makeHandler } from '../../functions/get-history-api';
import { DEMO_CREDENTIALS, startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { useTestDynamoDb } from '../support/dynamodb';
import { historyRequestEvent, lambdaContext } from '../support/lambda';
import { nextDeviceId, TEST_ACCOUNT, upgradeRecord } from '../support/records';

type Handler = typeof import('../../functions/get-history-api')['handler'];

const SECRET_ID = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:thingspace-fota-history/credentials-AbCdEf';
const db = useTestDynamoDb();
const secretsManager = mockClient(SecretsManagerClient);
let simulator: ThingSpaceSimulator;
let handler: Handler;
let config: ServiceConfig;

/** A new execution environment: its own ThingSpace session and its own cached secret. */
function newHandler(): Handler {
  const dependencies = buildHistoryDependencies(config);
  return makeHandler(() => dependencies);
}

beforeAll(async () => {
  simulator = await startThingSpaceSimulator({ credentials: DEMO_CREDENTIALS });
  const tableName = await db.createTestTable();
  config = parseServiceConfig({
    TABLE_NAME: tableName,
    DYNAMODB_ENDPOINT: db.endpoint,
    THINGSPACE_BASE_URL: simulator.url,
    THINGSPACE_SECRET_ID: SECRET_ID,
    THINGSPACE_MAX_ATTEMPTS: '2',
    THINGSPACE_RETRY_BASE_MS: '1',
  });
  handler = newHandler();
});

afterEach(() => {
  vi.useRealTimers();
});

afterAll(async () => {
  secretsManager.restore();
  await simulator.close();
});

function secretString(value: unknown) {
  return { SecretString: typeof value === 'string' ? value : JSON.stringify(value) };
}

function knownDevice() {
  const deviceId = nextDeviceId();
  const records = [upgradeRecord({ deviceId, id: `${deviceId}-1` })];
  simulator.setHistory(TEST_ACCOUNT, deviceId, records);
  return { deviceId, records };
}

async function getHistory(deviceId: string, through: Handler = handler): Promise<APIGatewayProxyResult> {
  return through(historyRequestEvent({ account: TEST_ACCOUNT, deviceId }), lambdaContext());
}

describe('ThingSpace credentials from Secrets Manager', () => {
  it('answers 502 CREDENTIALS_UNAVAILABLE without echoing the secret when it lacks a field', async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2026-11-27T10:00:00Z') });
    const { appKey, appSecret, username } = DEMO_CREDENTIALS;
    secretsManager.on(GetSecretValueCommand).resolves(secretString({ appKey, appSecret, username }));
    const output = vi.spyOn(process.stdout, 'write');

    // Act
    const result = await getHistory(knownDevice().deviceId);

    // Assess
    expect(result.statusCode).toBe(502);
    expect(JSON.parse(result.body)).toEqual({ errorCode: 'CREDENTIALS_UNAVAILABLE', errorMessage: expect.any(String) });
    const everything = result.body + output.mock.calls.map(([chunk]) => String(chunk)).join('');
    for (const value of [appKey, appSecret, username]) expect(everything).not.toContain(value);
    expect(simulator.stats().requests).toBe(0);
    output.mockRestore();
  });

  it('reads the secret, answers with the history, and keeps the secret for five minutes', async () => {
    // Prepare: past the cache expiry of the bad secret of the previous test
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2026-11-27T10:06:00Z') });
    secretsManager.reset();
    secretsManager.on(GetSecretValueCommand, { SecretId: SECRET_ID }).resolves(secretString(DEMO_CREDENTIALS));
    const { deviceId, records } = knownDevice();

    // Act
    const first = await getHistory(deviceId);
    vi.setSystemTime(Date.parse('2026-11-27T10:10:00Z'));
    const second = await getHistory(deviceId);

    // Assess
    expect(first.statusCode).toBe(200);
    expect(JSON.parse(first.body)).toEqual(records);
    expect(second.statusCode).toBe(200);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('reads the secret again once its five minutes are over, so a rotation is picked up', async () => {
    // Prepare: an execution environment of its own that read the secret at 10:06
    const fresh = newHandler();
    secretsManager.on(GetSecretValueCommand, { SecretId: SECRET_ID }).resolves(secretString(DEMO_CREDENTIALS));
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2026-11-27T10:06:00Z') });
    expect((await getHistory(knownDevice().deviceId, fresh)).statusCode).toBe(200);
    vi.setSystemTime(Date.parse('2026-11-27T10:12:00Z'));
    const { deviceId } = knownDevice();
    const callsBefore = secretsManager.commandCalls(GetSecretValueCommand).length;

    // Act
    const result = await getHistory(deviceId, fresh);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(secretsManager.commandCalls(GetSecretValueCommand).length - callsBefore).toBe(1);
  });
});

// Throttling is the SDK's to retry, which a mocked client bypasses: test/integration/dynamodb-throttling.test.ts.
describe('DynamoDB failures', () => {
  it('answers 503 ARCHIVE_UNAVAILABLE when the archive cannot be read', async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand).resolves(secretString(DEMO_CREDENTIALS));
    const dynamodb = mockClient(DynamoDBDocumentClient);
    dynamodb
      .on(QueryCommand)
      .rejects(Object.assign(new Error('Requested resource not found'), { name: 'ResourceNotFoundException' }));

    // Act
    const result = await getHistory(knownDevice().deviceId);
    dynamodb.restore();

    // Assess
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body)).toEqual({ errorCode: 'ARCHIVE_UNAVAILABLE', errorMessage: expect.any(String) });
  });
});

describe('a ThingSpace secret that is not valid JSON', () => {
  it('answers 502 CREDENTIALS_UNAVAILABLE and logs no part of it, though JSON.parse quotes the text around its error', async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2027-01-01T10:00:00Z') });
    // Distinctive values: the secret is malformed, so ThingSpace is never asked and need not know them.
    const [appKey, appSecret, username, password] = [
      'Kx4q9TzAppKey7h',
      'Wy3p8RmSec5qv',
      'Ju8v2NxUsr4kd',
      'Zq7mirrorlake',
    ];
    // The password unquoted: Node's JSON.parse message quotes the text around the unexpected token.
    const text = `{"appKey":"${appKey}","appSecret":"${appSecret}","username":"${username}","password":${password}}`;
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: text });
    // Powertools prints an error with its message, stack and every cause's: what is searched here.
    const logged = vi.spyOn(logger, 'error');

    // Act
    const result = await getHistory(knownDevice().deviceId);

    // Assess
    expect(result.statusCode).toBe(502);
    expect(JSON.parse(result.body)).toMatchObject({ errorCode: 'CREDENTIALS_UNAVAILABLE' });
    const logs = logged.mock.calls.map((args) => args.map(printed).join(' ')).join('\n');
    logged.mockRestore();
    expect(logs).toContain('request failed');
    // The 5xx is logged with its causes, down to the secret's parse error.
    expect(logs).toContain('not valid JSON');
    const everything = result.body + logs;
    for (const value of [appKey, appSecret, username, password]) expect(everything).not.toContain(value.slice(-6));
    expect(everything).not.toContain('mirror');
  });
});

/** What Powertools' log formatter prints of a value: an error's name, message and stack, then its cause's. */
function printed(value: unknown): string {
  if (!(value instanceof Error)) return JSON.stringify(value) ?? String(value);
  return `${value.name}: ${value.message} ${value.stack ?? ''} cause: ${value.cause === undefined ? '' : printed(value.cause)}`;
}
