/**
 * Issue 13, black box: what `npm start` tells a new user. An access line per request, GET /health,
 * conflicts found before anything is started or created, and a secret that cannot be read named as
 * such (against a stand-in Secrets Manager endpoint, AWS_ENDPOINT_URL_SECRETS_MANAGER).
 */
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedDynamoDb } from '../../local/embedded-dynamodb';
import { startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { E2E_ACCOUNT, E2E_CREDENTIALS, getPath, newDeviceId, upgrade } from '../support/e2e-fixtures';
import {
  freePort,
  makeTempDir,
  meaningfulLines,
  runUntilExit,
  startLocalServer,
} from '../support/local-server-process';

let simulator: ThingSpaceSimulator;
const temporary: Array<{ remove(): Promise<void> }> = [];

beforeAll(async () => {
  simulator = await startThingSpaceSimulator({ credentials: E2E_CREDENTIALS });
});

afterAll(async () => {
  await simulator.close();
  for (const dir of temporary) await dir.remove();
});

async function tempDir(): Promise<string> {
  const dir = await makeTempDir();
  temporary.push(dir);
  return dir.path;
}

/** The child's output arrives through a pipe a moment after the answer. */
async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check() && Date.now() < end) await new Promise((done) => setTimeout(done, 25));
}

function expectOneLine(result: Awaited<ReturnType<typeof runUntilExit>>, pattern: RegExp): void {
  expect(result.code, result.stderr).toBe(1);
  expect(result.stdout).not.toContain('listening on');
  const lines = meaningfulLines(result.stderr);
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

describe('npm start: access lines and /health', () => {
  it('logs one JSON access line per request, serves /health, and answers 503 on /health once the store is gone', async () => {
    // Prepare
    const store = await startEmbeddedDynamoDb();
    const server = await startLocalServer({
      env: {
        PORT: String(await freePort()),
        THINGSPACE_BASE_URL: simulator.url,
        THINGSPACE_CREDENTIALS: JSON.stringify(E2E_CREDENTIALS),
        DYNAMODB_ENDPOINT: store.endpoint,
        TABLE_NAME: 'first-hour',
        THINGSPACE_MAX_ATTEMPTS: '1',
        LOG_FORMAT: 'json',
      },
    });
    const device = newDeviceId();
    simulator.setHistory(E2E_ACCOUNT, device, [upgrade(device, 1), upgrade(device, 2)]);
    const path = `/reports/${E2E_ACCOUNT}/devices/${device}`;

    try {
      // Act
      const healthy = await getPath(server.url, '/health');
      const live = await getPath(server.url, path);
      simulator.failNext(1, 503);
      const stale = await getPath(server.url, path);
      await store.close();
      const storeGone = await getPath(server.url, '/health');
      await until(
        () =>
          server
            .stdout()
            .split('\n')
            .filter((line) => line.startsWith('{')).length >= 4,
      );

      // Assess
      expect(healthy).toMatchObject({
        status: 200,
        body: { status: 'ok', store: 'reachable', thingspace: 'reachable' },
      });
      expect(live.status).toBe(200);
      expect(stale.status).toBe(200);
      expect(storeGone).toMatchObject({
        status: 503,
        body: { status: 'unavailable', store: 'unreachable', errorCode: 'ARCHIVE_UNAVAILABLE' },
      });
      const access = server
        .stdout()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(access).toEqual([
        { time: expect.any(String), method: 'GET', path: '/health', status: 200, ms: expect.any(Number), stale: false },
        {
          time: expect.any(String),
          method: 'GET',
          path,
          status: 200,
          ms: expect.any(Number),
          stale: false,
          records: 2,
        },
        { time: expect.any(String), method: 'GET', path, status: 200, ms: expect.any(Number), stale: true, records: 2 },
        { time: expect.any(String), method: 'GET', path: '/health', status: 503, ms: expect.any(Number), stale: false },
      ]);
      // Powertools' warning for the stale answer is short and carries no fake Lambda fields.
      expect(server.output()).not.toContain('function_request_id');
    } finally {
      await server.stop('SIGTERM');
    }
  });

  it('prints a human-readable access line with LOG_FORMAT=text', async () => {
    // Prepare
    const server = await startLocalServer({
      env: { PORT: String(await freePort()), DATA_DIR: join(await tempDir(), 'data'), LOG_FORMAT: 'text' },
    });

    try {
      // Act
      await getPath(server.url, '/reports/0242078689-00001/devices/990000473475989');
      await getPath(server.url, '/nowhere');
      await until(() => server.stdout().includes('/nowhere'));

      // Assess
      expect(server.stdout()).toMatch(
        /^\d\d:\d\d:\d\d GET \/reports\/0242078689-00001\/devices\/990000473475989 200 [0-9.]+ ms, 3 records$/m,
      );
      expect(server.stdout()).toMatch(/^\d\d:\d\d:\d\d GET \/nowhere 404 [0-9.]+ ms$/m);
      // The banner names DATA_DIR as given, not as a machine-specific absolute path it was not given as.
      expect(server.stdout()).toMatch(/with data in \/tmp\/.*\/data, table fota-history/);
    } finally {
      await server.stop('SIGTERM');
    }
  });
});

describe('npm start finds conflicts before it starts or creates anything', () => {
  it('stops on a port in use without creating DATA_DIR', async () => {
    // Prepare
    const blocker = createServer();
    const port = await new Promise<number>((done) =>
      blocker.listen(0, '127.0.0.1', () => done((blocker.address() as AddressInfo).port)),
    );
    const dataDir = join(await tempDir(), 'never-created');

    // Act
    const result = await runUntilExit({ env: { PORT: String(port), DATA_DIR: dataDir } }).finally(() =>
      blocker.close(),
    );

    // Assess
    expectOneLine(result, new RegExp(`^thingspace-fota-history: port ${port} is already in use \\(set PORT\\)$`));
    expect(existsSync(dataDir)).toBe(false);
  });

  it('stops on a DATA_DIR held by another live process without touching it', async () => {
    // Prepare: this test runner plays the other process
    const dataDir = await tempDir();
    await writeFile(join(dataDir, 'npm-start.pid'), String(process.pid));

    // Act
    const result = await runUntilExit({ env: { PORT: String(await freePort()), DATA_DIR: dataDir } });

    // Assess
    expectOneLine(
      result,
      new RegExp(`DATA_DIR .* is in use by another npm start or npm run sync \\(pid ${process.pid}\\)`),
    );
    expect(await readdir(dataDir)).toEqual(['npm-start.pid']);
  });
});

/** A stand-in for Secrets Manager's endpoint that answers every GetSecretValue with one AWS error. */
async function secretsManagerAnswering(
  errorType: string,
  message: string,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': errorType });
      response.end(JSON.stringify({ __type: errorType, message }));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

describe('npm start with THINGSPACE_SECRET_ID names why the secret cannot be read', () => {
  const noAwsCredentials = {
    THINGSPACE_SECRET_ID: 'thingspace-fota-history/credentials',
    AWS_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
  };

  it('without AWS credentials: says so, not that the store is unreachable, and creates nothing', async () => {
    // Prepare
    const dataDir = join(await tempDir(), 'data');

    // Act
    const result = await runUntilExit({
      env: { ...noAwsCredentials, PORT: String(await freePort()), DATA_DIR: dataDir },
    });

    // Assess
    expectOneLine(
      result,
      /^thingspace-fota-history: the ThingSpace credentials secret thingspace-fota-history\/credentials could not be read: no AWS credentials to read it with/,
    );
    expect(existsSync(dataDir)).toBe(false);
  });

  it.each([
    ['ResourceNotFoundException', /could not be read: it does not exist \(ResourceNotFoundException\)$/],
    ['AccessDeniedException', /could not be read: access denied \(AccessDeniedException\)$/],
  ])('answered %s: names it in one line', async (errorType, pattern) => {
    // Prepare
    const endpoint = await secretsManagerAnswering(errorType, 'no');
    const dataDir = join(await tempDir(), 'data');

    // Act
    const result = await runUntilExit({
      env: {
        ...noAwsCredentials,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint.url,
        PORT: String(await freePort()),
        DATA_DIR: dataDir,
      },
    }).finally(() => endpoint.close());

    // Assess
    expectOneLine(result, pattern);
    expect(existsSync(dataDir)).toBe(false);
  });
});
