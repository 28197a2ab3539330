import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { buildHistoryDependencies } from '../../functions/commons/history-dependencies';
import { configurePowertools } from '../../functions/commons/powertools';
import { makeHandler } from '../../functions/get-history-api';
import { DEMO_CREDENTIALS, startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { useTestDynamoDb } from '../support/dynamodb';
import { handlerConfig } from '../support/handler-environment';
import { historyRequestEvent, lambdaContext } from '../support/lambda';
import { nextDeviceId, TEST_ACCOUNT, upgradeRecord } from '../support/records';

type Handler = typeof import('../../functions/get-history-api')['handler'];

const db = useTestDynamoDb();
let simulator: ThingSpaceSimulator;
let handler: Handler;
const output: string[] = [];

beforeAll(async () => {
  simulator = await startThingSpaceSimulator({ credentials: DEMO_CREDENTIALS });
  const config = handlerConfig({
    tableName: await db.createTestTable(),
    dynamoDbEndpoint: db.endpoint,
    thingspaceUrl: simulator.url,
  });
  // Every debug line, in Powertools' own format: what the test searches.
  configurePowertools({ logLevel: 'DEBUG' });
  // Captured, not echoed: the debug logs are for this test to search, not for the CI log.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: unknown) => {
      output.push(String(chunk));
      return true;
    });
  }
  const dependencies = buildHistoryDependencies(config);
  handler = makeHandler(() => dependencies);
});

afterAll(async () => {
  vi.restoreAllMocks();
  await simulator.close();
});

it('never writes a token, secret or password to the logs or a response, whatever happens upstream', async () => {
  // Prepare
  const deviceId = nextDeviceId();
  simulator.setHistory(TEST_ACCOUNT, deviceId, [upgradeRecord({ deviceId, id: 'u1' })]);
  const ask = () => handler(historyRequestEvent({ account: TEST_ACCOUNT, deviceId }), lambdaContext());
  const bodies: string[] = [];

  // Act: a first login, a 4xx echoing the tokens, a renewed token, a renewed session, retried 5xx, and refused credentials
  bodies.push((await ask()).body);
  simulator.injectFault({ kind: 'echo-tokens' });
  bodies.push((await ask()).body);
  simulator.expireAccessTokens();
  bodies.push((await ask()).body);
  simulator.expireSessions();
  bodies.push((await ask()).body);
  simulator.failNext(2, 503);
  bodies.push((await ask()).body);
  simulator.setCredentials({ ...DEMO_CREDENTIALS, password: 'rotated-password' });
  simulator.expireSessions();
  bodies.push((await ask()).body);

  // Assess
  const issuedTokens = simulator.issuedTokens();
  const everything = [...output, ...bodies].join('\n');
  expect(output.join('').length).toBeGreaterThan(0);
  expect(issuedTokens.length).toBeGreaterThanOrEqual(4);
  const basic = Buffer.from(`${DEMO_CREDENTIALS.appKey}:${DEMO_CREDENTIALS.appSecret}`).toString('base64');
  for (const secret of [
    DEMO_CREDENTIALS.appSecret,
    DEMO_CREDENTIALS.password,
    DEMO_CREDENTIALS.appKey,
    basic,
    ...issuedTokens,
  ]) {
    expect(everything).not.toContain(secret);
  }
});
