/**
 * Issue 3, black box: what `npm start` does when it starts, stops and restarts. Shutdown must not
 * lose a write or leave a process behind; the archive in DATA_DIR must survive a restart; a bad
 * configuration must stop start-up with one line.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TABLE_NAME } from '../../functions/commons/configuration';
import { startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { E2E_ACCOUNT, E2E_CREDENTIALS, getHistory, newDeviceId, readArchive, upgrade } from '../support/e2e-fixtures';
import {
  type ExitResult,
  freePort,
  type LocalServerProcess,
  makeTempDir,
  meaningfulLines,
  runUntilExit,
  startLocalServer,
} from '../support/local-server-process';

const STOPPED_LINE = 'thingspace-fota-history stopped';

let simulator: ThingSpaceSimulator;
const tempDirs: Array<{ path: string; remove(): Promise<void> }> = [];
const servers: LocalServerProcess[] = [];

beforeAll(async () => {
  simulator = await startThingSpaceSimulator({ credentials: E2E_CREDENTIALS });
  simulator.addAccount(E2E_ACCOUNT);
});

afterAll(async () => {
  // A test that failed half-way may leave its server running.
  for (const server of servers) await server.stop('SIGKILL').catch(() => undefined);
  await simulator?.close();
  for (const dir of tempDirs) await dir.remove();
});

async function tempDir(): Promise<string> {
  const dir = await makeTempDir();
  tempDirs.push(dir);
  return dir.path;
}

async function serverEnv(dataDir: string): Promise<Record<string, string>> {
  return {
    PORT: String(await freePort()),
    THINGSPACE_BASE_URL: simulator.url,
    THINGSPACE_CREDENTIALS: JSON.stringify(E2E_CREDENTIALS),
    DATA_DIR: dataDir,
  };
}

async function start(env: Record<string, string>, launcher: 'npm' | 'node' = 'npm'): Promise<LocalServerProcess> {
  const server = await startLocalServer({ env, launcher });
  servers.push(server);
  return server;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 20));
  }
}

/**
 * The start script execs the server, so npm exits with the server's own code, and the server must have
 * printed that it stopped after flushing the store.
 */
function expectNpmStoppedCleanly(result: ExitResult, server: LocalServerProcess): void {
  expect(result, JSON.stringify(result)).toEqual({ code: 0, signal: null });
  expect(server.stdout()).toContain(STOPPED_LINE);
  expect(server.stderr()).not.toMatch(/^\s+at /m);
}

describe('npm start stops cleanly and keeps the archive across restarts', () => {
  it('finishes a request in flight on SIGTERM, lands its write, stores concurrent writes once, and serves the archive after a restart', async () => {
    // Prepare
    const dataDir = await tempDir();
    const busy = newDeviceId();
    const slow = newDeviceId();
    const busyRecords = [1, 2, 3, 4, 5].map((n) => upgrade(busy, n));
    const slowRecords = [1, 2].map((n) => upgrade(slow, n));
    simulator.setHistory(E2E_ACCOUNT, busy, busyRecords);
    simulator.setHistory(E2E_ACCOUNT, slow, slowRecords);
    simulator.setDeviceFault(slow, { kind: 'delay', delayMs: 1_500 });
    const first = await start(await serverEnv(dataDir));

    // Act: 30 concurrent first requests; then SIGTERM while ThingSpace is still answering another one
    const concurrent = await Promise.all(Array.from({ length: 30 }, () => getHistory(first.url, E2E_ACCOUNT, busy)));
    // A dropped connection becomes the answer (and fails the status check below), not an unhandled rejection.
    const inFlight = getHistory(first.url, E2E_ACCOUNT, slow).catch((error: Error) => ({
      status: 0,
      body: error.message,
    }));
    await until(() => simulator.historyCallsFor(slow) === 1, 'the slow request to reach ThingSpace');
    const stopped = await first.stop('SIGTERM');
    const inFlightAnswer = await inFlight;
    const archive = await readArchive(dataDir, DEFAULT_TABLE_NAME, E2E_ACCOUNT, [busy, slow]);

    // ThingSpace no longer has any of it; a new server on the same DATA_DIR still does
    simulator.setDeviceFault(slow, undefined);
    simulator.setHistory(E2E_ACCOUNT, busy, []);
    simulator.setHistory(E2E_ACCOUNT, slow, []);
    const second = await start(await serverEnv(dataDir));
    const busyAfterRestart = await getHistory(second.url, E2E_ACCOUNT, busy);
    const slowAfterRestart = await getHistory(second.url, E2E_ACCOUNT, slow);
    const secondStopped = await second.stop('SIGTERM');

    // Assess
    for (const answer of concurrent) expect(answer.status).toBe(200);
    expect(inFlightAnswer.status).toBe(200);
    expect(inFlightAnswer.body).toEqual([...slowRecords].reverse());
    expectNpmStoppedCleanly(stopped, first);
    expectNpmStoppedCleanly(secondStopped, second);

    const busyItems = archive.get(busy) ?? [];
    expect(busyItems.map((item) => item.record.id).sort()).toEqual(busyRecords.map((record) => record.id).sort());
    for (const item of busyItems) expect(item.statusLog).toHaveLength(1);
    expect((archive.get(slow) ?? []).map((item) => item.record)).toEqual(expect.arrayContaining(slowRecords));
    expect(archive.get(slow)).toHaveLength(2);

    expect(busyAfterRestart.status).toBe(200);
    expect(busyAfterRestart.body).toEqual([...busyRecords].reverse());
    expect(slowAfterRestart.status).toBe(200);
    expect(slowAfterRestart.body).toEqual([...slowRecords].reverse());
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    "exits with code 0 on %s (node --import tsx local/start.ts, the server's own exit code)",
    async (signal) => {
      // Prepare
      const server = await start(await serverEnv(await tempDir()), 'node');
      const device = newDeviceId();
      simulator.setHistory(E2E_ACCOUNT, device, [upgrade(device, 1)]);
      expect((await getHistory(server.url, E2E_ACCOUNT, device)).status).toBe(200);

      // Act
      const result = await server.stop(signal);

      // Assess (stop() itself fails if any process of the group is still alive)
      expect(result).toEqual({ code: 0, signal: null });
      expect(server.stdout()).toContain(STOPPED_LINE);
      expect(server.stderr()).toBe('');
    },
  );

  it('stops when only npm is signalled (a supervisor that knows one pid), leaving no process behind', async () => {
    // Prepare
    const server = await start(await serverEnv(await tempDir()));

    // Act: SIGTERM to npm alone, which passes it on to the server
    const result = await server.stop('SIGTERM', 'launcher');

    // Assess
    expectNpmStoppedCleanly(result, server);
  });
});

describe('npm start refuses a bad configuration with one line', () => {
  function expectOneLineFailure(result: Awaited<ReturnType<typeof runUntilExit>>, pattern: RegExp): void {
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).not.toContain('listening on');
    const lines = meaningfulLines(result.stderr);
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^thingspace-fota-history: /);
    expect(lines[0]).toMatch(pattern);
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/^\s+at /m);
  }

  it('stops on malformed THINGSPACE_CREDENTIALS without echoing them', async () => {
    // Prepare
    const env = {
      ...(await serverEnv(await tempDir())),
      THINGSPACE_CREDENTIALS: '{"appKey":"secret-key-123", "appSecret":',
    };

    // Act
    const result = await runUntilExit({ env });

    // Assess
    expectOneLineFailure(result, /THINGSPACE_CREDENTIALS/);
    expect(result.stderr).not.toContain('secret-key-123');
  });

  it('stops when THINGSPACE_CREDENTIALS lacks a field', async () => {
    // Prepare
    const { password: _omitted, ...partial } = E2E_CREDENTIALS;
    const env = { ...(await serverEnv(await tempDir())), THINGSPACE_CREDENTIALS: JSON.stringify(partial) };

    // Act
    const result = await runUntilExit({ env });

    // Assess
    expectOneLineFailure(result, /password/);
    expect(result.stderr).not.toContain(E2E_CREDENTIALS.appSecret);
  });

  it('stops when DYNAMODB_ENDPOINT names a port where nothing listens', async () => {
    // Prepare: a port that was free a moment ago and is closed now
    const closedPort = await freePort();
    const env = {
      ...(await serverEnv(await tempDir())),
      DYNAMODB_ENDPOINT: `http://127.0.0.1:${closedPort}`,
      TABLE_NAME: 'fota-history-e2e',
    };

    // Act
    const result = await runUntilExit({ env });

    // Assess: the line says what is wrong (not, say, that AWS credentials are missing)
    expectOneLineFailure(result, new RegExp(`127\\.0\\.0\\.1:${closedPort} is not reachable.*ECONNREFUSED`));
  });

  it('stops when a ThingSpace client setting is not a number', async () => {
    // Prepare
    const env = { ...(await serverEnv(await tempDir())), THINGSPACE_TIMEOUT_MS: 'soon' };

    // Act
    const result = await runUntilExit({ env });

    // Assess
    expectOneLineFailure(result, /THINGSPACE_TIMEOUT_MS/);
  });

  it('stops when PORT is taken', async () => {
    // Prepare
    const blocker = createServer();
    const port = await new Promise<number>((done) =>
      blocker.listen(0, '127.0.0.1', () => done((blocker.address() as { port: number }).port)),
    );
    const env = { ...(await serverEnv(await tempDir())), PORT: String(port) };

    // Act
    const result = await runUntilExit({ env }).finally(() => blocker.close());

    // Assess
    expectOneLineFailure(result, new RegExp(`port ${port} is already in use`));
  });

  it('stops when another npm start already uses DATA_DIR, and leaves that one serving', async () => {
    // Prepare
    const dataDir = await tempDir();
    const running = await start(await serverEnv(dataDir));
    const device = newDeviceId();
    simulator.setHistory(E2E_ACCOUNT, device, [upgrade(device, 1)]);

    // Act
    const result = await runUntilExit({ env: await serverEnv(dataDir) });
    const stillServing = await getHistory(running.url, E2E_ACCOUNT, device);
    await running.stop('SIGTERM');

    // Assess
    expectOneLineFailure(result, /DATA_DIR .* is in use/);
    expect(stillServing.status).toBe(200);
    expect(stillServing.body).toEqual([upgrade(device, 1)]);
  });
});
