/**
 * The deployed artifact itself: the API function bundled exactly as the stack bundles it, run by a
 * plain `node` in a directory where no package can be resolved (as in Lambda, where only the bundle is
 * there), answering a real request against the simulator and the embedded store.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_HANDLER_FILE, EXTERNAL_MODULES, esbuildOptionsFor } from '../../lib/lambda-bundling';
import { functionEntry } from '../../lib/service-function';
import { apiGatewayProxyEvent } from '../../local/lambda-emulation';
import {
  DEMO_ACCOUNT,
  DEMO_CREDENTIALS,
  DEMO_DEVICE_WITH_FAILURE,
  seedDemoData,
  startThingSpaceSimulator,
  type ThingSpaceSimulator,
} from '../../local/thingspace-simulator';
import { useTestDynamoDb } from '../support/dynamodb';

const dynamo = useTestDynamoDb();
const workDir = mkdtempSync(path.join(tmpdir(), 'fota-lambda-bundle-'));
let simulator: ThingSpaceSimulator;

// Loads the bundle, hands its handler one event, prints the answer (plain JS: runs without a loader).
const INVOKE_SCRIPT = `
import { readFileSync } from 'node:fs';
const { handler } = await import(process.argv[2]);
const event = JSON.parse(readFileSync(process.argv[3], 'utf8'));
const context = { functionName: 'bundle-test', awsRequestId: 'bundle-test', getRemainingTimeInMillis: () => 30000 };
process.stdout.write('@@answer ' + JSON.stringify(await handler(event, context)) + '\\n');
`;

beforeAll(async () => {
  simulator = await startThingSpaceSimulator();
  seedDemoData(simulator);
  await build({ ...esbuildOptionsFor(functionEntry('get-history-api.ts'), workDir), logLevel: 'silent' });
  writeFileSync(path.join(workDir, 'invoke.mjs'), INVOKE_SCRIPT);
}, 60_000);

afterAll(async () => {
  await simulator?.close();
  rmSync(workDir, { recursive: true, force: true });
});

describe('the bundled API function', () => {
  it('runs where none of its external modules can be resolved', () => {
    // Assess: the premise of the next test (a node_modules above the temp directory would hide a need).
    const resolveFromBundle = createRequire(path.join(workDir, BUNDLED_HANDLER_FILE));
    for (const name of EXTERNAL_MODULES) expect(() => resolveFromBundle.resolve(name)).toThrow();
  });

  it('answers a history request with environment credentials, signing its archive calls, and archives it', async () => {
    // Prepare
    const tableName = await dynamo.createTestTable();
    const eventFile = path.join(workDir, 'event.json');
    writeFileSync(
      eventFile,
      JSON.stringify(
        apiGatewayProxyEvent({
          method: 'GET',
          path: `/reports/${DEMO_ACCOUNT}/devices/${DEMO_DEVICE_WITH_FAILURE}`,
          pathParameters: { account: DEMO_ACCOUNT, deviceId: DEMO_DEVICE_WITH_FAILURE },
          headers: { accept: 'application/json' },
        }),
      ),
    );

    // Act: Lambda's environment as the stack sets it, nothing else. With a key in the environment the
    // store client takes the SDK's default credential chain even for a local endpoint.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(workDir, 'invoke.mjs'), path.join(workDir, BUNDLED_HANDLER_FILE), eventFile],
      {
        cwd: workDir,
        timeout: 30_000,
        env: {
          PATH: process.env.PATH,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'ASIA-BUNDLE-TEST',
          AWS_SECRET_ACCESS_KEY: 'bundle-test-secret',
          AWS_SESSION_TOKEN: 'bundle-test-session',
          TABLE_NAME: tableName,
          DYNAMODB_ENDPOINT: dynamo.endpoint,
          THINGSPACE_BASE_URL: simulator.url,
          THINGSPACE_CREDENTIALS: JSON.stringify(DEMO_CREDENTIALS),
          POWERTOOLS_LOG_LEVEL: 'WARN',
          POWERTOOLS_METRICS_DISABLED: 'true',
        },
      },
    );

    // Assess
    const answerLine = stdout.split('\n').find((line) => line.startsWith('@@answer '));
    const answer = JSON.parse(answerLine!.slice('@@answer '.length));
    expect(answer.statusCode).toBe(200);
    const records = JSON.parse(answer.body) as { id: string }[];
    const live = simulator.liveHistory(DEMO_ACCOUNT, DEMO_DEVICE_WITH_FAILURE) ?? [];
    expect(records.map((record) => record.id).sort()).toEqual(live.map((record) => record.id).sort());
    const archived = await dynamo.client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :upgrade)',
        ExpressionAttributeValues: {
          ':pk': `DEVICE#${DEMO_ACCOUNT}#${DEMO_DEVICE_WITH_FAILURE}`,
          ':upgrade': 'UPGRADE#',
        },
      }),
    );
    expect(archived.Items?.length).toBe(live.length);
  }, 60_000);
});
