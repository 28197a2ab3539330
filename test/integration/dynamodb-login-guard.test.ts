import { createHash } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbLoginGuard, type DynamoDbLoginGuardOptions } from '../../adapters/dynamodb/dynamodb-login-guard';
import { loginGuardKey } from '../../adapters/dynamodb/table-schema';
import { loginAttempt, type DeriveVerifier } from '../../adapters/thingspace/login-attempt';
import type { LoginWait } from '../../adapters/thingspace/login-guard';
import { ThingSpaceError } from '../../domain/thingspace-error';
import { countOperations, useTestDynamoDb } from '../support/dynamodb';
import { fakeClock } from '../unit/thingspace-fake';

const db = useTestDynamoDb();
const MINUTE = 60_000;
/** A fast stand-in for scrypt that counts its calls; the real one is tested in the unit tests. */
let derivations = 0;
const countingDerive: DeriveVerifier = async (secret, salt) => {
  derivations += 1;
  return createHash('sha256').update(salt).update(secret).digest();
};
const USER = 'guard-user';
const ATTEMPT = loginAttempt({ username: USER, password: 'password-a' }, countingDerive);
const KEY = ATTEMPT.userKey;
const REFUSAL = { status: 400, errorCode: 'UnifiedWebService.AUTH.Failed' };
const NO_WAITING: LoginWait = { allowsWait: () => false };

let tableName: string;

beforeEach(async () => {
  tableName = await db.createTestTable();
  derivations = 0;
});

/** A login of the same user with another password (the operator rotated it), or the same one anew. */
function withPassword(password: string) {
  return loginAttempt({ username: USER, password }, countingDerive);
}

/** One guard per simulated Lambda instance, all on the same table. */
function guard(options: Partial<DynamoDbLoginGuardOptions> = {}): DynamoDbLoginGuard {
  return new DynamoDbLoginGuard({
    client: db.client,
    tableName,
    policy: { loginBackoffMs: MINUTE, maxLoginBackoffMs: 10 * MINUTE, maxLoginRefusals: 3 },
    leaseMs: 15_000,
    pollMs: 5,
    ...options,
  });
}

async function rejectionOf(promise: Promise<unknown>): Promise<ThingSpaceError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof ThingSpaceError)) throw new Error(`expected a ThingSpaceError, got ${String(outcome)}`);
  return outcome;
}

async function storedItem(key = KEY): Promise<Record<string, unknown> | undefined> {
  const { Item } = await db.client.send(new GetCommand({ TableName: tableName, Key: loginGuardKey(key), ConsistentRead: true }));
  return Item;
}

describe('DynamoDB login guard: credentials not known to be good', () => {
  it('lets exactly one of ten concurrent instances try them, and the others get its refusal', async () => {
    // Prepare
    const instances = Array.from({ length: 10 }, () => guard());
    const checks = instances.map((instance) => instance.check(ATTEMPT));
    const tagged = checks.map((check, index) => check.then((permit) => ({ index, permit })));

    // Act
    const winner = await Promise.any(tagged);
    await instances[winner.index]!.recordRefusal(winner.permit, REFUSAL);
    const outcomes = await Promise.allSettled(checks);

    // Assess
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as ThingSpaceError] : []));
    expect(refused).toHaveLength(9);
    expect(refused.every((error) => error instanceof ThingSpaceError && error.failure === 'auth')).toBe(true);
    expect(refused[0]?.details).toEqual(REFUSAL);
    expect(await storedItem()).toMatchObject({ pk: 'THINGSPACE#LOGIN', sk: `GUARD#${KEY}`, refusals: 1, status: 400, errorCode: REFUSAL.errorCode });
  });

  it('lets the waiting instances log in without a lease once the first one succeeded', async () => {
    // Prepare
    const instances = Array.from({ length: 10 }, () => guard());
    const checks = instances.map((instance, index) => instance.check(ATTEMPT).then((permit) => ({ index, permit })));

    // Act
    const winner = await Promise.any(checks);
    await instances[winner.index]!.recordSuccess(winner.permit);
    const permits = await Promise.all(checks);

    // Assess
    expect(permits.filter(({ permit }) => permit.leaseOwner !== undefined)).toHaveLength(1);
    expect(await storedItem()).toMatchObject({ refusals: 0, verifiedAt: expect.any(Number) });
    expect(await storedItem()).not.toHaveProperty('leaseOwner');
  });

  it('fails fast as unavailable, without a lease, when the caller cannot wait for the other instance', async () => {
    // Prepare
    const first = guard();
    await first.check(ATTEMPT);

    // Act
    const failure = await rejectionOf(guard().check(ATTEMPT, NO_WAITING));

    // Assess
    expect(failure.failure).toBe('unavailable');
  });

  it('hands the lease on when its holder releases it or disappears', async () => {
    // Prepare
    const clock = fakeClock();
    const [a, b, c] = [guard({ now: clock.now, sleep: clock.sleep }), guard({ now: clock.now, sleep: clock.sleep }), guard({ now: clock.now, sleep: clock.sleep })];
    const held = await a.check(ATTEMPT);

    // Act
    await a.release(held);
    const afterRelease = await b.check(ATTEMPT, NO_WAITING);
    clock.time += 15_001;
    const afterExpiry = await c.check(ATTEMPT, NO_WAITING);

    // Assess
    expect(afterRelease.leaseOwner).toBeDefined();
    expect(afterExpiry.leaseOwner).toBeDefined();
    expect(afterExpiry.leaseOwner).not.toBe(afterRelease.leaseOwner);
  });
});

describe('DynamoDB login guard: refusals', () => {
  it('pauses every instance, lets one try after the pause, doubles it, and stops after maxLoginRefusals', async () => {
    // Prepare
    const clock = fakeClock();
    const [a, b] = [guard({ now: clock.now, sleep: clock.sleep }), guard({ now: clock.now, sleep: clock.sleep })];
    await a.recordRefusal(await a.check(ATTEMPT), REFUSAL);

    // Act
    const duringFirstPause = await rejectionOf(b.check(ATTEMPT));
    clock.time += MINUTE;
    const second = await b.recordRefusal(await b.check(ATTEMPT), REFUSAL);
    clock.time += MINUTE;
    const duringSecondPause = await rejectionOf(a.check(ATTEMPT));
    clock.time += MINUTE;
    const third = await a.recordRefusal(await a.check(ATTEMPT), REFUSAL);
    clock.time += 30 * 24 * 60 * MINUTE;
    const stopped = await rejectionOf(b.check(ATTEMPT));

    // Assess
    expect(duringFirstPause.failure).toBe('auth');
    expect(duringFirstPause.message).toContain('for another 60 s');
    expect(second).toEqual({ refusals: 2, pausedForMs: 2 * MINUTE });
    expect(duringSecondPause.failure).toBe('auth');
    expect(third).toEqual({ refusals: 3, pausedForMs: Infinity });
    expect(stopped.failure).toBe('auth');
    expect(stopped.message).toContain('until the credentials change');
    expect(stopped.details).toEqual(REFUSAL);
  });

  it('counts every one of concurrent refusals, and a later success starts the count again', async () => {
    // Prepare
    const instances = Array.from({ length: 4 }, () => guard());
    const first = await instances[0]!.check(ATTEMPT);
    await instances[0]!.recordSuccess(first);
    const permits = await Promise.all(instances.map((instance) => instance.check(ATTEMPT)));

    // Act
    const records = await Promise.all(permits.map((permit, index) => instances[index]!.recordRefusal(permit, REFUSAL)));
    const afterRefusals = await storedItem();

    // Assess
    expect(records.map((record) => record.refusals).sort()).toEqual([1, 2, 3, 4]);
    expect(afterRefusals).toMatchObject({ refusals: 4, stopped: true });
    expect(afterRefusals).not.toHaveProperty('verifiedAt');
  });

  it('keeps a refusal recorded after a login was allowed over that login\'s success', async () => {
    // Prepare
    const [a, b] = [guard(), guard()];
    await a.recordSuccess(await a.check(ATTEMPT));
    const slow = await a.check(ATTEMPT, NO_WAITING);
    const quick = await b.check(ATTEMPT, NO_WAITING);
    await b.recordRefusal(quick, REFUSAL);

    // Act
    await a.recordSuccess({ ...slow, confirm: true });

    // Assess
    expect(await storedItem()).toMatchObject({ refusals: 1, pausedUntil: expect.any(Number) });
  });

  it('lets a rotated password of the refused user log in at once: the pause belongs to the refused password', async () => {
    // Prepare
    const a = guard();
    await a.recordRefusal(await a.check(ATTEMPT), REFUSAL);

    // Act
    const rotated = await guard().check(withPassword('password-b'), NO_WAITING);

    // Assess
    expect(rotated.leaseOwner).toBeDefined();
  });
});

describe('DynamoDB login guard: refusals per user, whatever the password', () => {
  it('keys the item by the SHA-256 of the username, so a new password meets the count of the old one', async () => {
    // Prepare
    const a = guard();
    await a.recordRefusal(await a.check(ATTEMPT), REFUSAL);
    const b = withPassword('password-b');

    // Act
    const record = await guard().recordRefusal(await guard().check(b, NO_WAITING), REFUSAL);

    // Assess
    expect(KEY).toBe(createHash('sha256').update(JSON.stringify(['uws-user', USER])).digest('hex'));
    expect(b.userKey).toBe(KEY);
    expect(record.refusals).toBe(2);
    expect(await storedItem()).toMatchObject({ sk: `GUARD#${KEY}`, refusals: 2, passwordRefusals: 1 });
  });

  it('stops the same password after maxLoginRefusals, lets one other password try, and then stops every password', async () => {
    // Prepare
    const clock = fakeClock();
    const at = () => guard({ now: clock.now, sleep: clock.sleep });
    for (let refusal = 0; refusal < 3; refusal += 1) {
      await at().recordRefusal(await at().check(ATTEMPT), REFUSAL);
      clock.time += 60 * MINUTE;
    }

    // Act
    const samePassword = await rejectionOf(at().check(withPassword('password-a')));
    const rotated = await at().check(withPassword('password-b'), NO_WAITING);
    const fourth = await at().recordRefusal(rotated, REFUSAL);
    clock.time += 30 * 24 * 60 * MINUTE;
    const afterFour = await Promise.all(['password-a', 'password-b', 'password-c'].map((password) => rejectionOf(at().check(withPassword(password)))));
    await db.client.send(new DeleteCommand({ TableName: tableName, Key: loginGuardKey(KEY) }));
    const afterDelete = await at().check(withPassword('password-c'), NO_WAITING);

    // Assess
    expect(samePassword.message).toContain('until the credentials change');
    expect(rotated.leaseOwner).toBeDefined();
    expect(fourth).toEqual({ refusals: 4, pausedForMs: Infinity });
    for (const stopped of afterFour) {
      expect(stopped.failure).toBe('auth');
      expect(stopped.message).toContain('for every password after 4 consecutive refused logins');
      expect(stopped.message).toContain('deletes the login guard item');
      expect(stopped.details).toEqual(REFUSAL);
    }
    expect(afterDelete.leaseOwner).toBeDefined();
  });

  it('lets a success with another password start the count again and forget the refused password', async () => {
    // Prepare
    const a = guard();
    await a.recordRefusal(await a.check(ATTEMPT), REFUSAL);
    const rotated = withPassword('password-b');

    // Act
    await a.recordSuccess(await a.check(rotated, NO_WAITING));

    // Assess
    const item = await storedItem();
    expect(item).toMatchObject({ refusals: 0, verifiedAt: expect.any(Number) });
    expect(item).not.toHaveProperty('refusedPasswordVerifier');
    expect(item).not.toHaveProperty('pausedUntil');
  });

  it('stores a salted verifier of the refused password beside the count, never the password', async () => {
    // Prepare
    const a = guard();

    // Act
    await a.recordRefusal(await a.check(ATTEMPT), REFUSAL);

    // Assess
    const item = await storedItem();
    expect(item).toMatchObject({ refusedPasswordVerifier: expect.stringMatching(/^[0-9a-f]{64}$/), refusedPasswordSalt: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(JSON.stringify(item)).not.toContain('password-a');
  });

  it('derives no verifier for a user with no refusal on record, and only once one is', async () => {
    // Prepare
    const instances = Array.from({ length: 10 }, () => guard());
    const attempts = instances.map(() => withPassword('password-a'));
    const first = await instances[0]!.check(attempts[0]!);
    await instances[0]!.recordSuccess(first);
    await Promise.all(instances.map(async (instance, index) => instance.recordSuccess(await instance.check(attempts[index]!, NO_WAITING))));
    const normalPath = derivations;

    // Act
    await instances[0]!.recordRefusal(await instances[0]!.check(attempts[0]!), REFUSAL);
    const afterRefusal = derivations;
    await rejectionOf(instances[1]!.check(attempts[1]!));

    // Assess
    expect(normalPath).toBe(0);
    expect(afterRefusal).toBe(1);
    expect(derivations).toBe(2);
  });

  it('refuses the login when the stored verifier cannot be trusted', async () => {
    // Prepare
    const a = guard();
    await a.recordRefusal(await a.check(ATTEMPT), REFUSAL);
    const stored = await storedItem();
    await db.client.send(new PutCommand({ TableName: tableName, Item: { ...stored, refusedPasswordVerifier: 'not hex', pausedUntil: 0 } }));

    // Act
    const failure = await rejectionOf(guard().check(withPassword('password-b')));

    // Assess
    expect(failure.failure).toBe('unavailable');
  });
});

describe('DynamoDB login guard: known-good credentials', () => {
  it('costs one GetItem per login and no write while the last success is recent', async () => {
    // Prepare
    const clock = fakeClock();
    const first = guard({ now: clock.now });
    await first.recordSuccess(await first.check(ATTEMPT));
    clock.time += 5 * MINUTE;
    const client = db.createClient();
    const operations = countOperations(client);
    const instances = Array.from({ length: 10 }, () => guard({ client, now: clock.now }));

    // Act
    const permits = await Promise.all(instances.map((instance) => instance.check(ATTEMPT, NO_WAITING)));
    await Promise.all(permits.map((permit, index) => instances[index]!.recordSuccess(permit)));

    // Assess
    expect(permits.every((permit) => permit.leaseOwner === undefined)).toBe(true);
    expect(operations.count('GetItem')).toBe(10);
    expect(operations.count('PutItem')).toBe(0);
  });

  it('refreshes an ageing success with one write, and needs a lease again after a long quiet spell', async () => {
    // Prepare
    const clock = fakeClock();
    const [a, b, c] = [guard({ now: clock.now }), guard({ now: clock.now }), guard({ now: clock.now })];
    await a.recordSuccess(await a.check(ATTEMPT));
    clock.time += 20 * MINUTE;

    // Act
    const ageing = await b.check(ATTEMPT, NO_WAITING);
    await b.recordSuccess(ageing);
    const refreshedAt = (await storedItem())?.verifiedAt;
    clock.time += 31 * MINUTE;
    const stale = await c.check(ATTEMPT, NO_WAITING);

    // Assess
    expect(ageing.leaseOwner).toBeUndefined();
    expect(refreshedAt).toBe(clock.time - 31 * MINUTE);
    expect(stale.leaseOwner).toBeDefined();
  });
});

describe('DynamoDB login guard: DynamoDB failures', () => {
  it('refuses the login as unavailable when the guard cannot be read', async () => {
    // Prepare
    const broken = guard({ tableName: 'no-such-table' });

    // Act
    const failure = await rejectionOf(broken.check(ATTEMPT));

    // Assess
    expect(failure.failure).toBe('unavailable');
    expect(failure.message).toContain('not logging in');
  });

  it('refuses the login when the stored item cannot be trusted', async () => {
    // Prepare
    const a = guard();
    await a.recordSuccess(await a.check(ATTEMPT));
    await db.client.send(new PutCommand({ TableName: tableName, Item: { ...loginGuardKey(KEY), refusals: 'many' } }));

    // Act
    const failure = await rejectionOf(guard().check(ATTEMPT));

    // Assess
    expect(failure.failure).toBe('unavailable');
  });
});
