/**
 * The login guard's rule (README, "ThingSpace sessions"), against the simulator over HTTP and a table in
 * dynalite: at most four consecutive login attempts per API user without a confirmed success, whatever
 * each attempt's outcome, over every instance. Each client here has its own guard and DynamoDB client,
 * as a Lambda instance does: all they share is the table. Attempts are counted where they land, at the
 * simulator.
 */

import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDocumentClient } from '../../adapters/dynamodb/client';
import { DynamoDbLoginGuard } from '../../adapters/dynamodb/dynamodb-login-guard';
import { createHistoryTable, LOGIN_GUARD_PARTITION_KEY } from '../../adapters/dynamodb/table-schema';
import { createThingSpaceClient, type ThingSpaceClientOptions } from '../../adapters/thingspace/client';
import type { ThingSpaceCredentials } from '../../adapters/thingspace/credentials';
import { LoginGuard, type LoginGuardStore, userKey } from '../../adapters/thingspace/login-guard';
import type { ThingSpaceApi } from '../../domain/ports';
import type { ThingSpaceError } from '../../domain/thingspace-error';
import { startEmbeddedDynamoDb } from '../../local/embedded-dynamodb';
import { main as loginGuardCommand } from '../../local/login-guard';
import {
  DEMO_ACCOUNT,
  DEMO_CREDENTIALS,
  DEMO_DEVICE_FROM_DOCS,
  seedDemoData,
  startThingSpaceSimulator,
  type ThingSpaceSimulator,
} from '../../local/thingspace-simulator';
import { useTestDynamoDb } from '../support/dynamodb';
import { capturingLogger, outcomeOf } from '../support/thingspace-client';

const DEVICE = { account: DEMO_ACCOUNT, deviceId: DEMO_DEVICE_FROM_DOCS };
/** What the operator set in the portal; the service still has DEMO_CREDENTIALS until it is rotated. */
const PORTAL: ThingSpaceCredentials = { ...DEMO_CREDENTIALS, password: 'changed-in-the-portal' };
const GATEWAY_401 = {
  kind: 'status',
  status: 401,
  body: { fault: { code: '900901', message: 'Invalid Credentials' } },
} as const;

const db = useTestDynamoDb();
let simulator: ThingSpaceSimulator;
let tableName: string;

beforeEach(async () => {
  simulator = await startThingSpaceSimulator();
  seedDemoData(simulator);
  tableName = await db.createTestTable();
});

afterEach(async () => {
  await simulator.close();
});

/** One Lambda instance: its own client, guard and DynamoDB connection; only the table is shared. */
function instance(
  credentials: () => ThingSpaceCredentials,
  options: Partial<ThingSpaceClientOptions> = {},
  client: DynamoDBDocumentClient = db.createClient(),
): ThingSpaceApi {
  return createThingSpaceClient({
    baseUrl: simulator.url,
    credentials: async () => credentials(),
    baseDelayMs: 1,
    maxDelayMs: 5,
    timeoutMs: 2000,
    loginGuard: new DynamoDbLoginGuard({ client, tableName }),
    ...options,
  });
}

async function guardItems(): Promise<Record<string, unknown>[]> {
  const { Items } = await db.client.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': LOGIN_GUARD_PARTITION_KEY },
      ConsistentRead: true,
    }),
  );
  return Items ?? [];
}

/** Pauses of 1 ms, so that only the limit of four, not the pause, holds logins back. */
const NO_PAUSE = { loginBackoffMs: 1, maxLoginBackoffMs: 1 };

describe('at most four consecutive login attempts per API user without a success', () => {
  it('counts a refusal that arrives after the client timed out: 30 requests, 4 attempts reach ThingSpace, the user is not locked', async () => {
    // Prepare
    simulator.setCredentials(PORTAL);
    simulator.injectLoginFault({ kind: 'delay', delayMs: 1200 }, 100);
    const client = instance(() => DEMO_CREDENTIALS, { ...NO_PAUSE, timeoutMs: 400 });

    // Act
    const outcomes = [];
    for (let request = 0; request < 30; request += 1) outcomes.push(await outcomeOf(client.getDeviceHistory(DEVICE)));

    // Assess
    expect(simulator.stats().loginRequests).toBe(4);
    await vi.waitFor(() => expect(simulator.stats().loginsFailed).toBe(4), { timeout: 5000 });
    expect(simulator.stats()).toMatchObject({ consecutiveFailedLogins: 4, userLocked: false });
    const failures = outcomes as ThingSpaceError[];
    expect(failures.slice(0, 4).map((failure) => failure.failure)).toEqual([
      'timeout',
      'timeout',
      'timeout',
      'timeout',
    ]);
    expect(
      failures
        .slice(4)
        .every((failure) => failure.failure === 'auth' && failure.message.includes('logins are stopped')),
    ).toBe(true);
  });

  it('counts a login answered 401: 30 requests, 4 attempts reach ThingSpace and none is retried within its request', async () => {
    // Prepare
    simulator.injectLoginFault(GATEWAY_401, 100);
    const client = instance(() => DEMO_CREDENTIALS, NO_PAUSE);

    // Act
    const outcomes = [];
    for (let request = 0; request < 30; request += 1) outcomes.push(await outcomeOf(client.getDeviceHistory(DEVICE)));

    // Assess
    expect(simulator.stats().loginRequests).toBe(4);
    const failures = outcomes as ThingSpaceError[];
    expect(failures.every((failure) => failure.failure === 'auth')).toBe(true);
    expect(failures.slice(0, 4).map((failure) => failure.details.status)).toEqual([401, 401, 401, 401]);
    expect(simulator.stats().historyCalls).toBe(0);
  });

  it('never lets several instances sharing the table exceed four attempts in total', async () => {
    // Prepare
    simulator.setCredentials(PORTAL);
    simulator.injectLoginFault({ kind: 'delay', delayMs: 600 }, 100);
    const instances = Array.from({ length: 3 }, () =>
      instance(() => DEMO_CREDENTIALS, { ...NO_PAUSE, timeoutMs: 300 }),
    );

    // Act
    for (let round = 0; round < 8; round += 1) {
      await Promise.all(
        instances.flatMap((client) => [
          outcomeOf(client.getDeviceHistory(DEVICE)),
          outcomeOf(client.getDeviceHistory(DEVICE)),
        ]),
      );
    }

    // Assess
    expect(simulator.stats().loginRequests).toBe(4);
    await vi.waitFor(() => expect(simulator.stats().loginsFailed).toBe(4), { timeout: 5000 });
    expect(simulator.stats().userLocked).toBe(false);
  });

  it('lets ten cold instances with a wrong password cause one failed login: one tries under the lease, the others get its verdict', async () => {
    // Prepare
    simulator.setCredentials(PORTAL);
    const instances = Array.from({ length: 10 }, () => instance(() => DEMO_CREDENTIALS));

    // Act
    const outcomes = await Promise.all(instances.map((client) => outcomeOf(client.getDeviceHistory(DEVICE))));

    // Assess
    expect(outcomes.every((outcome) => outcome !== 'ok' && outcome.failure === 'auth')).toBe(true);
    expect(simulator.stats()).toMatchObject({ loginRequests: 1, loginsFailed: 1 });
  });

  it('lets ten instances with good credentials log in, one at a time, never counting more than one attempt', async () => {
    // Prepare
    const instances = Array.from({ length: 10 }, () => instance(() => DEMO_CREDENTIALS));

    // Act
    const outcomes = await Promise.all(instances.map((client) => outcomeOf(client.getDeviceHistory(DEVICE))));

    // Assess
    expect(outcomes).toEqual(instances.map(() => 'ok'));
    expect(simulator.stats()).toMatchObject({ loginsOk: 10, loginsFailed: 0 });
    expect(await guardItems()).toEqual([expect.objectContaining({ attempts: 0, lastOutcome: 'succeeded' })]);
  });
});

describe('a success anywhere resets the count', () => {
  it('allows four more attempts after a success, so ThingSpace never sees five consecutive failures', async () => {
    // Prepare
    simulator.setCredentials(PORTAL);
    const failing = instance(() => DEMO_CREDENTIALS, NO_PAUSE);
    for (let request = 0; request < 3; request += 1) await outcomeOf(failing.getDeviceHistory(DEVICE));
    const other = instance(() => PORTAL, NO_PAUSE);

    // Act
    const success = await outcomeOf(other.getDeviceHistory(DEVICE));
    const countAfterSuccess = (await guardItems())[0]?.attempts;
    for (let request = 0; request < 10; request += 1) await outcomeOf(failing.getDeviceHistory(DEVICE));

    // Assess
    expect(success).toBe('ok');
    expect(countAfterSuccess).toBe(0);
    expect(simulator.stats()).toMatchObject({
      loginRequests: 8,
      loginsOk: 1,
      loginsFailed: 7,
      consecutiveFailedLogins: 4,
      userLocked: false,
    });
  });
});

describe('the verdict', () => {
  /** The table's guard, with every call it makes listed in order. */
  function recordingGuard(beforeWrite?: (writes: number) => Promise<void>) {
    const guard = new DynamoDbLoginGuard({ client: db.createClient(), tableName });
    const calls: string[] = [];
    const store: LoginGuardStore = {
      read: async (key, options) => {
        calls.push('read');
        return guard.read(key, options);
      },
      write: async (key, record, expected, options) => {
        calls.push('write');
        await beforeWrite?.(calls.filter((call) => call === 'write').length);
        return guard.write(key, record, expected, options);
      },
    };
    return { store, calls, guard };
  }

  it('goes onto the record the attempt wrote without reading it again: a login is one read and two writes', async () => {
    // Prepare
    const { store, calls } = recordingGuard();

    // Act
    const outcome = await outcomeOf(instance(() => DEMO_CREDENTIALS, { loginGuard: store }).getDeviceHistory(DEVICE));

    // Assess
    expect(outcome).toBe('ok');
    expect(calls).toEqual(['read', 'write', 'write']);
    expect(await guardItems()).toMatchObject([{ attempts: 0, lastOutcome: 'succeeded', version: 2 }]);
    expect((await guardItems())[0]).not.toHaveProperty('leaseOwner');
  });

  it('is dropped when the record changed after the attempt was counted: the count is never lowered on a guess', async () => {
    // Prepare: before the verdict lands, another instance counts an attempt of its own (its lease ran out).
    const key = userKey(DEMO_CREDENTIALS.username);
    const { store, guard } = recordingGuard(async (writes) => {
      if (writes !== 2) return;
      const current = await guard.read(key);
      await guard.write(
        key,
        { ...current!, version: current!.version + 1, attempts: 3 },
        { version: current!.version },
      );
    });

    const { lines, logger } = capturingLogger();

    // Act
    const outcome = await outcomeOf(
      instance(() => DEMO_CREDENTIALS, { loginGuard: store, logger }).getDeviceHistory(DEVICE),
    );

    // Assess: the other instance's count stands; the success is not written over it, and says so.
    expect(outcome).toBe('ok');
    expect(await guardItems()).toMatchObject([{ attempts: 3, lastOutcome: 'in flight', version: 2 }]);
    expect(lines.filter((line) => line.includes("did not take this ThingSpace login's verdict"))).toEqual([
      expect.stringMatching(/^warn .*"verdict":"succeeded"/),
    ]);
  });

  it('follows an attempt whose record was written though the answer was lost: the login goes ahead at once', async () => {
    // Prepare: the attempt's conditional write lands, but the caller is told it failed, as when the SDK
    // retries a write whose first answer was lost and the retry fails the condition.
    const guard = new DynamoDbLoginGuard({ client: db.createClient(), tableName });
    let writes = 0;
    const store: LoginGuardStore = {
      read: (key, options) => guard.read(key, options),
      write: async (key, record, expected, options) => {
        writes += 1;
        const written = await guard.write(key, record, expected, options);
        return writes === 1 ? false : written;
      },
    };

    // Act
    const outcome = await outcomeOf(instance(() => DEMO_CREDENTIALS, { loginGuard: store }).getDeviceHistory(DEVICE));

    // Assess: one attempt, counted once and then reset by its success.
    expect(outcome).toBe('ok');
    expect(simulator.stats()).toMatchObject({ loginRequests: 1, loginsOk: 1 });
    expect(await guardItems()).toMatchObject([{ version: 2, attempts: 0, lastOutcome: 'succeeded' }]);
  });

  it("never lands on a record rebuilt after an operator's reset, even at the same version", async () => {
    // Prepare: before the verdict lands, the operator resets the user and another instance's attempt
    // starts the record again, at the version this attempt's record had.
    const key = userKey(DEMO_CREDENTIALS.username);
    const { store, guard } = recordingGuard(async (writes) => {
      if (writes !== 2) return;
      await guard.reset(key);
      await new LoginGuard({ store: guard, leaseMs: 60_000 }).begin(PORTAL);
    });

    // Act
    const outcome = await outcomeOf(instance(() => DEMO_CREDENTIALS, { loginGuard: store }).getDeviceHistory(DEVICE));

    // Assess: the other attempt is still counted and still holds its lease.
    expect(outcome).toBe('ok');
    const [item] = await guardItems();
    expect(item).toMatchObject({ version: 1, attempts: 1, lastOutcome: 'in flight' });
    expect(item?.leaseOwner).toEqual(expect.any(String));
  });
});

describe('between attempts', () => {
  it('pauses the refused password, and tries a rotated one at once', async () => {
    // Prepare
    simulator.setCredentials(PORTAL);
    let current: ThingSpaceCredentials = DEMO_CREDENTIALS;
    const client = instance(() => current);
    const refused = await outcomeOf(client.getDeviceHistory(DEVICE));

    // Act
    const retried = await outcomeOf(client.getDeviceHistory(DEVICE));
    simulator.setCredentials({ ...PORTAL, appKey: 'rotated-app-key' });
    current = { ...DEMO_CREDENTIALS, appKey: 'rotated-app-key' };
    const onlyAppKeyRotated = await outcomeOf(client.getDeviceHistory(DEVICE));
    const loginsWhilePaused = simulator.stats().loginRequests;
    current = { ...PORTAL, appKey: 'rotated-app-key' };
    const rotated = await outcomeOf(client.getDeviceHistory(DEVICE));

    // Assess
    expect((refused as ThingSpaceError).details).toEqual({ status: 400, errorCode: 'UnifiedWebService.AUTH.Failed' });
    expect((retried as ThingSpaceError).message).toContain('paused');
    expect((onlyAppKeyRotated as ThingSpaceError).message).toContain('paused');
    expect(loginsWhilePaused).toBe(1);
    expect(rotated).toBe('ok');
    expect(simulator.stats()).toMatchObject({ loginRequests: 2, loginsOk: 1 });
  });

  it('keeps only a hash of the username and a salted fingerprint of the credentials in the table', async () => {
    // Prepare
    simulator.setCredentials(PORTAL);

    // Act
    await outcomeOf(instance(() => DEMO_CREDENTIALS).getDeviceHistory(DEVICE));

    // Assess
    const items = await guardItems();
    expect(items).toEqual([
      expect.objectContaining({
        sk: `GUARD#${userKey(DEMO_CREDENTIALS.username)}`,
        attempts: 1,
        fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/),
        lastOutcome: 'HTTP 400 UnifiedWebService.AUTH.Failed',
      }),
    ]);
    const stored = JSON.stringify(items);
    for (const value of Object.values(DEMO_CREDENTIALS)) expect(stored).not.toContain(value);
  });
});

describe('failing closed', () => {
  it('does not log in when the guard cannot be read, and says why', async () => {
    // Prepare
    const client = createThingSpaceClient({
      baseUrl: simulator.url,
      credentials: async () => DEMO_CREDENTIALS,
      loginGuard: new DynamoDbLoginGuard({ client: db.createClient(), tableName: 'no-such-table' }),
    });

    // Act
    const failure = await outcomeOf(client.getDeviceHistory(DEVICE));

    // Assess
    expect((failure as ThingSpaceError).failure).toBe('unavailable');
    expect((failure as ThingSpaceError).message).toContain('login guard could not be read');
    expect(simulator.stats().loginRequests).toBe(0);
  });
});

describe('an item of the earlier guard', () => {
  it('keeps its stop: a user it stopped stays stopped', async () => {
    // Prepare
    await db.client.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          pk: LOGIN_GUARD_PARTITION_KEY,
          sk: `GUARD#${userKey(DEMO_CREDENTIALS.username)}`,
          type: 'login-guard',
          version: 7,
          refusals: 4,
          stopped: true,
        },
      }),
    );

    // Act
    const failure = await outcomeOf(instance(() => DEMO_CREDENTIALS).getDeviceHistory(DEVICE));

    // Assess
    expect((failure as ThingSpaceError).message).toContain('logins are stopped for this API user');
    expect(simulator.stats().loginRequests).toBe(0);
  });
});

describe('npm run login-guard', () => {
  it('shows a stopped user and resets it, after which the next login is tried', async () => {
    // Prepare
    simulator.setCredentials(PORTAL);
    let current: ThingSpaceCredentials = DEMO_CREDENTIALS;
    const client = instance(() => current, NO_PAUSE);
    for (let request = 0; request < 6; request += 1) await outcomeOf(client.getDeviceHistory(DEVICE));
    const env = { DYNAMODB_ENDPOINT: db.endpoint, TABLE_NAME: tableName };
    const lines: string[] = [];
    const run = (...args: string[]) => loginGuardCommand(args, { ...env }, (line) => lines.push(line));

    // Act
    const statusCode = await run('status', '--user', DEMO_CREDENTIALS.username);
    const resetCode = await run('reset', '--user', DEMO_CREDENTIALS.username);
    const afterReset = await run('status', '--user', DEMO_CREDENTIALS.username);
    current = PORTAL;
    const login = await outcomeOf(client.getDeviceHistory(DEVICE));

    // Assess
    expect([statusCode, resetCode, afterReset]).toEqual([0, 0, 0]);
    expect(lines[0]).toMatch(
      /^login guard of demo-uws-user \(table .*\): 4 of 4 consecutive attempts without a success; .*STOPPED/,
    );
    expect(lines[1]).toContain('reset, was 4 of 4');
    expect(lines[2]).toContain('0 of 4');
    expect(lines.join('\n')).not.toContain(DEMO_CREDENTIALS.password);
    expect(login).toBe('ok');
    expect(simulator.stats()).toMatchObject({ loginRequests: 5, loginsOk: 1, consecutiveFailedLogins: 0 });
  });

  it('tells the operator to wait, not to reset, while the last attempt allowed is in flight', async () => {
    // Prepare: the fourth attempt is under way (its lease runs for another minute).
    const now = Date.now();
    await new DynamoDbLoginGuard({ client: db.createClient(), tableName }).write(
      userKey(DEMO_CREDENTIALS.username),
      {
        version: 4,
        attempts: 4,
        leaseOwner: 'another-instance',
        leaseUntil: now + 60_000,
        lastAttemptAt: now,
        lastOutcome: 'in flight',
      },
      undefined,
    );
    const lines: string[] = [];

    // Act
    const code = await loginGuardCommand(
      ['status', '--user', DEMO_CREDENTIALS.username],
      { DYNAMODB_ENDPOINT: db.endpoint, TABLE_NAME: tableName },
      (line) => lines.push(line),
    );

    // Assess
    expect(code).toBe(0);
    expect(lines[0]).toContain('4 of 4 consecutive attempts without a success');
    expect(lines[0]).toContain('the last attempt allowed is in flight: wait for its verdict before a reset');
    expect(lines[0]).not.toContain('STOPPED');
  });

  it('works on the embedded store in DATA_DIR, and says so when npm start holds it', async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), 'login-guard-'));
    const embedded = await startEmbeddedDynamoDb({ dataDir });
    const client = createDocumentClient({ endpoint: embedded.endpoint });
    await createHistoryTable(client, 'fota-history');
    await new DynamoDbLoginGuard({ client, tableName: 'fota-history' }).write(
      userKey('someone'),
      { version: 1, attempts: 4 },
      undefined,
    );
    client.destroy();
    await embedded.close();
    const lines: string[] = [];
    const run = (...args: string[]) => loginGuardCommand(args, { DATA_DIR: dataDir }, (line) => lines.push(line));

    try {
      // Act
      const reset = await run('reset', '--user', 'someone');
      const status = await run('status', '--user', 'someone');
      // A running process other than this one holds it, as npm start would.
      await writeFile(join(dataDir, 'npm-start.pid'), String(process.ppid));
      const held = await run('status', '--user', 'someone');
      const usage = await run('unlock');

      // Assess
      expect([reset, status, held, usage]).toEqual([0, 0, 1, 2]);
      expect(lines[0]).toContain('reset, was 4 of 4');
      expect(lines[1]).toContain('0 of 4');
      expect(lines[2]).toContain('in use by another npm start');
      expect(lines[3]).toContain('usage: npm run login-guard -- <status|reset> --user');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('npm run callbacks', () => {
  /** The CLI as an operator runs it, in its own process, against the table the service uses. */
  function callbacksCommand(env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string; stdout: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'local/callbacks.ts', 'list', '--account', DEMO_ACCOUNT],
        { env: { ...process.env, ...env }, timeout: 60_000 },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  it('logs in under the shared count: a stopped user is not tried, and its success resets the count', {
    timeout: 90_000,
  }, async () => {
    // Prepare
    // A client per step: a keep-alive socket left idle while the CLI runs may be closed by the store.
    const guard = () => new DynamoDbLoginGuard({ client: db.createClient(), tableName });
    await guard().write(userKey(DEMO_CREDENTIALS.username), { version: 1, attempts: 4 }, undefined);
    const env = {
      THINGSPACE_BASE_URL: simulator.url,
      THINGSPACE_CREDENTIALS: JSON.stringify(DEMO_CREDENTIALS),
      DYNAMODB_ENDPOINT: db.endpoint,
      TABLE_NAME: tableName,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    };

    // Act
    const stopped = await callbacksCommand(env);
    await guard().reset(userKey(DEMO_CREDENTIALS.username));
    const allowed = await callbacksCommand(env);

    // Assess
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain('logins are stopped');
    expect(allowed).toMatchObject({ code: 0, stdout: `no callback registered for ${DEMO_ACCOUNT}\n` });
    expect(simulator.stats()).toMatchObject({ loginRequests: 1, loginsOk: 1 });
    expect((await guard().read(userKey(DEMO_CREDENTIALS.username)))?.lastSuccessAt).toBeDefined();
    expect(stopped.stderr + allowed.stderr + allowed.stdout).not.toContain(DEMO_CREDENTIALS.password);
  });
});
