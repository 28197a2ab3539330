/**
 * The deployed artifact itself: the API function bundled exactly as the stack bundles it, run by a
 * plain `node` in a directory where no package can be resolved (as in Lambda, where only the bundle is
 * there), answering a real request against the simulator and the embedded store, with its credentials
 * from the environment (Lambda) or, past the providers the bundle leaves out, from a container endpoint.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_HANDLER_FILE, esbuildOptionsFor, STAND_IN_MODULES } from '../../lib/lambda-bundling';
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
  it('runs where no package can be resolved', () => {
    // Assess: the premise of the next tests (a node_modules above the temp directory would hide a need).
    const resolveFromBundle = createRequire(path.join(workDir, BUNDLED_HANDLER_FILE));
    for (const name of [...STAND_IN_MODULES, '@aws-sdk/client-dynamodb']) {
      expect(() => resolveFromBundle.resolve(name)).toThrow();
    }
  });

  it('answers a history request with environment credentials, signing its archive calls, and archives it', async () => {
    // Prepare
    const tableName = await dynamo.createTestTable();

    // Act: with a key in the environment the store client takes the SDK's default credential chain,
    // even for a local endpoint.
    const answer = await invokeBundle(tableName, {
      AWS_ACCESS_KEY_ID: 'ASIA-BUNDLE-TEST',
      AWS_SECRET_ACCESS_KEY: 'bundle-test-secret',
      AWS_SESSION_TOKEN: 'bundle-test-session',
    });

    // Assess
    expectServedAndArchived(answer, await archivedCount(tableName));
  }, 60_000);

  it('goes past the left-out credential providers to a container credentials endpoint', async () => {
    // Prepare: AWS_PROFILE makes the chain skip fromEnv (the key only tells the store client to use the chain).
    const tableName = await dynamo.createTestTable();
    let credentialRequests = 0;
    const endpoint: Server = createServer((_request, response) => {
      credentialRequests += 1;
      response.setHeader('content-type', 'application/json');
      response.end(
        JSON.stringify({
          AccessKeyId: 'ASIA-CONTAINER',
          SecretAccessKey: 'container-secret',
          Token: 'container-session',
          Expiration: new Date(Date.now() + 3_600_000).toISOString(),
        }),
      );
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));

    try {
      // Act
      const answer = await invokeBundle(tableName, {
        AWS_PROFILE: 'not-in-lambda',
        AWS_ACCESS_KEY_ID: 'ASIA-IGNORED-WITH-A-PROFILE',
        AWS_SECRET_ACCESS_KEY: 'ignored',
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/credentials`,
      });

      // Assess
      expect(credentialRequests).toBeGreaterThan(0);
      expectServedAndArchived(answer, await archivedCount(tableName));
    } finally {
      endpoint.close();
    }
  }, 60_000);
});

/** Runs the bundle in a fresh `node` with Lambda's environment as the stack sets it plus `credentials`. */
async function invokeBundle(tableName: string, credentials: Record<string, string>) {
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
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [path.join(workDir, 'invoke.mjs'), path.join(workDir, BUNDLED_HANDLER_FILE), eventFile],
    {
      cwd: workDir,
      timeout: 30_000,
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        TABLE_NAME: tableName,
        DYNAMODB_ENDPOINT: dynamo.endpoint,
        THINGSPACE_BASE_URL: simulator.url,
        THINGSPACE_CREDENTIALS: JSON.stringify(DEMO_CREDENTIALS),
        POWERTOOLS_LOG_LEVEL: 'WARN',
        POWERTOOLS_METRICS_DISABLED: 'true',
        ...credentials,
      },
    },
  );
  const answerLine = stdout.split('\n').find((line) => line.startsWith('@@answer '));
  return JSON.parse(answerLine!.slice('@@answer '.length)) as { statusCode: number; body: string };
}

async function archivedCount(tableName: string): Promise<number | undefined> {
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
  return archived.Items?.length;
}

function expectServedAndArchived(answer: { statusCode: number; body: string }, archived: number | undefined): void {
  expect(answer.statusCode).toBe(200);
  const live = simulator.liveHistory(DEMO_ACCOUNT, DEMO_DEVICE_WITH_FAILURE) ?? [];
  const records = JSON.parse(answer.body) as { id: string }[];
  expect(records.map((record) => record.id).sort()).toEqual(live.map((record) => record.id).sort());
  expect(archived).toBe(live.length);
}
