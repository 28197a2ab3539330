import { DeleteCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbLoginGuard } from '../../adapters/dynamodb/dynamodb-login-guard';
import { LOGIN_GUARD_PARTITION_KEY } from '../../adapters/dynamodb/table-schema';
import { createThingSpaceClient } from '../../adapters/thingspace/client';
import type { ThingSpaceCredentials } from '../../adapters/thingspace/credentials';
import type { DeriveVerifier } from '../../adapters/thingspace/login-attempt';
import type { ThingSpaceApi } from '../../domain/ports';
import { isThingSpaceError, type ThingSpaceError } from '../../domain/thingspace-error';
import {
  DEMO_ACCOUNT,
  DEMO_CREDENTIALS,
  DEMO_DEVICE_FROM_DOCS,
  seedDemoData,
  startThingSpaceSimulator,
  type ThingSpaceSimulator,
} from '../../local/thingspace-simulator';
import { countOperations, useTestDynamoDb } from '../support/dynamodb';
import { countingScrypt } from '../support/counting-verifier';

/**
 * Ten clients, each with its own guard object and DynamoDB client, stand for ten Lambda instances:
 * all they share is the table, as deployed.
 */
const INSTANCES = 10;
const DEVICE = { account: DEMO_ACCOUNT, deviceId: DEMO_DEVICE_FROM_DOCS };
const ROTATED: ThingSpaceCredentials = { ...DEMO_CREDENTIALS, password: 'rotated-uws-password' };

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

function instance(
  credentials: () => ThingSpaceCredentials,
  client: DynamoDBDocumentClient = db.createClient(),
  now?: () => number,
  deriveVerifier?: DeriveVerifier,
): ThingSpaceApi {
  return createThingSpaceClient({
    baseUrl: simulator.url,
    credentials: async () => credentials(),
    baseDelayMs: 1,
    maxDelayMs: 5,
    timeoutMs: 2000,
    ...(now ? { now } : {}),
    ...(deriveVerifier ? { deriveVerifier } : {}),
    loginGuard: new DynamoDbLoginGuard({ client, tableName, pollMs: 5, ...(now ? { now } : {}) }),
  });
}

/** A clock the test moves past the guards' pauses; the simulator keeps real time. */
function movableClock() {
  let offsetMs = 0;
  return {
    now: () => Date.now() + offsetMs,
    advance: (ms: number) => {
      offsetMs += ms;
    },
  };
}

const HOUR = 3_600_000;
const NEW_APP_PAIR = { appKey: 'rotated-app-key', appSecret: 'rotated-app-secret' };

async function outcomeOf(promise: Promise<unknown>): Promise<'ok' | ThingSpaceError> {
  const outcome = await promise.then(
    () => 'ok' as const,
    (error: unknown) => error,
  );
  if (outcome !== 'ok' && !isThingSpaceError(outcome)) throw new Error(`expected a ThingSpaceError, got ${String(outcome)}`);
  return outcome;
}

/** What an operator does to lift a stop: delete the user's guard item. */
async function deleteGuardItems(): Promise<void> {
  for (const item of await guardItems()) {
    await db.client.send(new DeleteCommand({ TableName: tableName, Key: { pk: item.pk, sk: item.sk } }));
  }
}

async function guardItems(): Promise<Record<string, unknown>[]> {
  const { Items } = await db.client.send(
    new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': LOGIN_GUARD_PARTITION_KEY }, ConsistentRead: true }),
  );
  return Items ?? [];
}

describe('ThingSpace login guard shared through DynamoDB, against the simulator', () => {
  it('lets ten cold instances with a wrong password cause one failed login, never a locked user, until the rotation', async () => {
    // Prepare
    simulator.setCredentials(ROTATED);
    let current: ThingSpaceCredentials = DEMO_CREDENTIALS;
    const instances = Array.from({ length: INSTANCES }, () => instance(() => current));

    // Act
    const concurrent = await Promise.all(instances.map((client) => outcomeOf(client.getDeviceHistory(DEVICE))));
    const repeated = [];
    for (let round = 0; round < 3; round += 1) {
      repeated.push(...(await Promise.all(instances.map((client) => outcomeOf(client.getDeviceHistory(DEVICE))))));
    }
    const whileWrong = simulator.stats();
    current = ROTATED;
    const afterRotation = await Promise.all(instances.map((client) => outcomeOf(client.getDeviceHistory(DEVICE))));

    // Assess
    for (const outcome of [...concurrent, ...repeated]) {
      expect(outcome).not.toBe('ok');
      expect((outcome as ThingSpaceError).failure).toBe('auth');
    }
    expect(whileWrong.loginsFailed).toBe(1);
    expect(whileWrong.consecutiveFailedLogins).toBe(1);
    expect(whileWrong.userLocked).toBe(false);
    expect(afterRotation).toEqual(Array.from({ length: INSTANCES }, () => 'ok'));
    expect(simulator.stats()).toMatchObject({ loginsFailed: 1, loginsOk: INSTANCES, consecutiveFailedLogins: 0, userLocked: false });
  });

  it('stops logins of a refused password on every instance, cold ones included, when only the app key pair is rotated, until the password is', async () => {
    // Prepare
    simulator.setCredentials(ROTATED);
    const clock = movableClock();
    let current: ThingSpaceCredentials = DEMO_CREDENTIALS;
    const warm = Array.from({ length: 3 }, () => instance(() => current, db.createClient(), clock.now));
    for (let round = 0; round < 4; round += 1) {
      await Promise.all(warm.map((client) => outcomeOf(client.getDeviceHistory(DEVICE))));
      clock.advance(2 * HOUR);
    }
    const whenStopped = simulator.stats();

    // Act
    simulator.setCredentials({ ...ROTATED, ...NEW_APP_PAIR });
    current = { ...DEMO_CREDENTIALS, ...NEW_APP_PAIR };
    const instances = [...warm, ...Array.from({ length: INSTANCES }, () => instance(() => current, db.createClient(), clock.now))];
    const afterAppRotation = [];
    for (let round = 0; round < 3; round += 1) {
      afterAppRotation.push(...(await Promise.all(instances.map((client) => outcomeOf(client.getDeviceHistory(DEVICE))))));
      clock.advance(24 * HOUR);
    }
    const afterAppRotationStats = simulator.stats();
    current = { ...ROTATED, ...NEW_APP_PAIR };
    const afterPasswordRotation = await Promise.all(instances.map((client) => outcomeOf(client.getDeviceHistory(DEVICE))));

    // Assess
    expect(whenStopped).toMatchObject({ loginsFailed: 3, consecutiveFailedLogins: 3, userLocked: false });
    for (const outcome of afterAppRotation) {
      expect(outcome).not.toBe('ok');
      expect((outcome as ThingSpaceError).failure).toBe('auth');
    }
    expect(afterAppRotationStats).toMatchObject({ loginsFailed: 3, consecutiveFailedLogins: 3, userLocked: false });
    expect(afterPasswordRotation).toEqual(instances.map(() => 'ok'));
    expect(simulator.stats()).toMatchObject({ loginsFailed: 3, consecutiveFailedLogins: 0, userLocked: false });
  });

  it('pauses token requests for a wrong app secret without pausing logins, which work at once once it is fixed', async () => {
    // Prepare
    let current: ThingSpaceCredentials = { ...DEMO_CREDENTIALS, appSecret: 'wrong-app-secret' };
    const first = instance(() => current);
    const refused = await outcomeOf(first.getDeviceHistory(DEVICE));
    const tokenRequestsAfterRefusal = simulator.stats().tokenRequests;

    // Act
    const paused = await outcomeOf(first.getDeviceHistory(DEVICE));
    const tokenRequestsWhilePaused = simulator.stats().tokenRequests;
    current = DEMO_CREDENTIALS;
    const fixed = await Promise.all([first, instance(() => current)].map((client) => outcomeOf(client.getDeviceHistory(DEVICE))));

    // Assess
    expect(refused).not.toBe('ok');
    expect((refused as ThingSpaceError).details.status).toBe(401);
    expect(paused).not.toBe('ok');
    expect((paused as ThingSpaceError).failure).toBe('auth');
    expect(tokenRequestsWhilePaused).toBe(tokenRequestsAfterRefusal);
    expect(fixed).toEqual(['ok', 'ok']);
    expect(simulator.stats()).toMatchObject({ loginsFailed: 0, consecutiveFailedLogins: 0 });
    expect((await guardItems()).every((item) => item.refusals === 0)).toBe(true);
  });

  it('keeps only hashes (of the username; salted scrypt of the refused password) and ThingSpace\'s error code in the table', async () => {
    // Prepare
    simulator.setCredentials(ROTATED);
    const client = instance(() => DEMO_CREDENTIALS);

    // Act
    await outcomeOf(client.getDeviceHistory(DEVICE));

    // Assess
    const items = await guardItems();
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      sk: expect.stringMatching(/^GUARD#[0-9a-f]{64}$/),
      refusals: 1,
      status: 400,
      refusedPasswordVerifier: expect.stringMatching(/^[0-9a-f]{64}$/),
      refusedPasswordSalt: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    const stored = JSON.stringify(items);
    for (const value of Object.values(DEMO_CREDENTIALS)) expect(stored).not.toContain(value);
  });

  it('lets ten instances with known-good credentials each log in once, with no guard write and no key derivation', async () => {
    // Prepare
    const { counter, derive } = countingScrypt();
    await instance(() => DEMO_CREDENTIALS, db.createClient(), undefined, derive).getDeviceHistory(DEVICE);
    const dynamo = db.createClient();
    const operations = countOperations(dynamo);
    const instances = Array.from({ length: INSTANCES }, () => instance(() => DEMO_CREDENTIALS, dynamo, undefined, derive));
    const loginsBefore = simulator.stats().loginsOk;

    // Act
    const outcomes = await Promise.all(instances.map((client) => outcomeOf(client.getDeviceHistory(DEVICE))));

    // Assess
    expect(outcomes).toEqual(Array.from({ length: INSTANCES }, () => 'ok'));
    expect(simulator.stats().loginsOk - loginsBefore).toBe(INSTANCES);
    expect(operations.count('GetItem')).toBe(INSTANCES);
    expect(operations.count('PutItem')).toBe(0);
    expect(counter.calls).toBe(0);
  });

  it('keeps the API user out of a lock when a refused password is rotated to another wrong one, until an operator clears the guard', async () => {
    // Prepare
    const RIGHT: ThingSpaceCredentials = { ...DEMO_CREDENTIALS, password: 'right-password-C' };
    simulator.setCredentials(RIGHT);
    const clock = movableClock();
    const { counter, derive } = countingScrypt();
    let current: ThingSpaceCredentials = { ...DEMO_CREDENTIALS, password: 'wrong-password-A' };
    const instances = Array.from({ length: 4 }, () => instance(() => current, db.createClient(), clock.now, derive));
    let mostConsecutiveFailures = 0;
    const rounds = async (count: number) => {
      const outcomes = [];
      for (let round = 0; round < count; round += 1) {
        outcomes.push(...(await Promise.all(instances.map((client) => outcomeOf(client.getDeviceHistory(DEVICE))))));
        mostConsecutiveFailures = Math.max(mostConsecutiveFailures, simulator.stats().consecutiveFailedLogins);
        clock.advance(2 * HOUR);
      }
      return outcomes;
    };

    // Act
    const withA = await rounds(6);
    const afterA = simulator.stats();
    current = { ...DEMO_CREDENTIALS, password: 'wrong-password-B' };
    const withB = await rounds(6);
    const afterB = simulator.stats();
    const lastError = withB.at(-1);
    await deleteGuardItems();
    current = RIGHT;
    const afterClearing = await Promise.all(instances.map((client) => outcomeOf(client.getDeviceHistory(DEVICE))));

    // Assess
    for (const outcome of [...withA, ...withB]) {
      expect(outcome).not.toBe('ok');
      expect((outcome as ThingSpaceError).failure).toBe('auth');
    }
    expect(afterA).toMatchObject({ loginsFailed: 3, consecutiveFailedLogins: 3, userLocked: false });
    expect(afterB).toMatchObject({ loginsFailed: 4, consecutiveFailedLogins: 4, userLocked: false });
    expect((lastError as ThingSpaceError).message).toContain('deletes the login guard item');
    expect(mostConsecutiveFailures).toBe(4);
    expect(counter.calls).toBeGreaterThan(0);
    expect(afterClearing).toEqual(instances.map(() => 'ok'));
    expect(simulator.stats()).toMatchObject({ loginsFailed: 4, consecutiveFailedLogins: 0, userLocked: false });
  });

  it('logs in at once with the right password set after the wrong one was refused, pause or not', async () => {
    // Prepare
    simulator.setCredentials(ROTATED);
    const clock = movableClock();
    let current: ThingSpaceCredentials = DEMO_CREDENTIALS;
    const instances = Array.from({ length: 3 }, () => instance(() => current, db.createClient(), clock.now));
    for (let round = 0; round < 2; round += 1) {
      await Promise.all(instances.map((client) => outcomeOf(client.getDeviceHistory(DEVICE))));
      clock.advance(2 * HOUR);
    }
    await Promise.all(instances.map((client) => outcomeOf(client.getDeviceHistory(DEVICE))));
    const whileStopped = simulator.stats();

    // Act
    current = ROTATED;
    const first = await outcomeOf(instances[0]!.getDeviceHistory(DEVICE));
    const afterFirst = simulator.stats();

    // Assess
    expect(whileStopped).toMatchObject({ loginsFailed: 3, consecutiveFailedLogins: 3, loginsOk: 0 });
    expect(first).toBe('ok');
    expect(afterFirst).toMatchObject({ loginsFailed: 3, loginsOk: 1, consecutiveFailedLogins: 0 });
  });

  it('does not log in again after a refusal when only the app key pair is rotated, even after the pause', async () => {
    // Prepare
    simulator.setCredentials(ROTATED);
    const clock = movableClock();
    let current: ThingSpaceCredentials = DEMO_CREDENTIALS;
    const client = instance(() => current, db.createClient(), clock.now);
    await outcomeOf(client.getDeviceHistory(DEVICE));
    const afterRefusal = simulator.stats();

    // Act
    simulator.setCredentials({ ...ROTATED, ...NEW_APP_PAIR });
    current = { ...DEMO_CREDENTIALS, ...NEW_APP_PAIR };
    const duringPause = await outcomeOf(client.getDeviceHistory(DEVICE));
    const cold = await outcomeOf(instance(() => current, db.createClient(), clock.now).getDeviceHistory(DEVICE));

    // Assess
    expect(afterRefusal).toMatchObject({ loginsFailed: 1, consecutiveFailedLogins: 1 });
    expect((duringPause as ThingSpaceError).failure).toBe('auth');
    expect((cold as ThingSpaceError).failure).toBe('auth');
    expect(simulator.stats()).toMatchObject({ loginsFailed: 1, loginsOk: 0, consecutiveFailedLogins: 1 });
  });
});
