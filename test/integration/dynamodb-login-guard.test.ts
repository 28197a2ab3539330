import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbLoginGuard, type DynamoDbLoginGuardOptions } from '../../adapters/dynamodb/dynamodb-login-guard';
import { loginGuardKey } from '../../adapters/dynamodb/table-schema';
import type { LoginWait } from '../../adapters/thingspace/login-guard';
import { ThingSpaceError } from '../../domain/thingspace-error';
import { countOperations, useTestDynamoDb } from '../support/dynamodb';
import { fakeClock } from '../unit/thingspace-fake';

const db = useTestDynamoDb();
const MINUTE = 60_000;
const KEY = 'a'.repeat(64);
const REFUSAL = { status: 400, errorCode: 'UnifiedWebService.AUTH.Failed' };
const NO_WAITING: LoginWait = { allowsWait: () => false };

let tableName: string;

beforeEach(async () => {
  tableName = await db.createTestTable();
});

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
    const checks = instances.map((instance) => instance.check(KEY));
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
    const checks = instances.map((instance, index) => instance.check(KEY).then((permit) => ({ index, permit })));

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
    await first.check(KEY);

    // Act
    const failure = await rejectionOf(guard().check(KEY, NO_WAITING));

    // Assess
    expect(failure.failure).toBe('unavailable');
  });

  it('hands the lease on when its holder releases it or disappears', async () => {
    // Prepare
    const clock = fakeClock();
    const [a, b, c] = [guard({ now: clock.now, sleep: clock.sleep }), guard({ now: clock.now, sleep: clock.sleep }), guard({ now: clock.now, sleep: clock.sleep })];
    const held = await a.check(KEY);

    // Act
    await a.release(held);
    const afterRelease = await b.check(KEY, NO_WAITING);
    clock.time += 15_001;
    const afterExpiry = await c.check(KEY, NO_WAITING);

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
    await a.recordRefusal(await a.check(KEY), REFUSAL);

    // Act
    const duringFirstPause = await rejectionOf(b.check(KEY));
    clock.time += MINUTE;
    const second = await b.recordRefusal(await b.check(KEY), REFUSAL);
    clock.time += MINUTE;
    const duringSecondPause = await rejectionOf(a.check(KEY));
    clock.time += MINUTE;
    const third = await a.recordRefusal(await a.check(KEY), REFUSAL);
    clock.time += 30 * 24 * 60 * MINUTE;
    const stopped = await rejectionOf(b.check(KEY));

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
    const first = await instances[0]!.check(KEY);
    await instances[0]!.recordSuccess(first);
    const permits = await Promise.all(instances.map((instance) => instance.check(KEY)));

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
    await a.recordSuccess(await a.check(KEY));
    const slow = await a.check(KEY, NO_WAITING);
    const quick = await b.check(KEY, NO_WAITING);
    await b.recordRefusal(quick, REFUSAL);

    // Act
    await a.recordSuccess({ ...slow, confirm: true });

    // Assess
    expect(await storedItem()).toMatchObject({ refusals: 1, pausedUntil: expect.any(Number) });
  });

  it('lets rotated credentials log in at once: the pause belongs to the refused ones', async () => {
    // Prepare
    const a = guard();
    await a.recordRefusal(await a.check(KEY), REFUSAL);

    // Act
    const rotated = await guard().check('b'.repeat(64), NO_WAITING);

    // Assess
    expect(rotated.leaseOwner).toBeDefined();
  });
});

describe('DynamoDB login guard: known-good credentials', () => {
  it('costs one GetItem per login and no write while the last success is recent', async () => {
    // Prepare
    const clock = fakeClock();
    const first = guard({ now: clock.now });
    await first.recordSuccess(await first.check(KEY));
    clock.time += 5 * MINUTE;
    const client = db.createClient();
    const operations = countOperations(client);
    const instances = Array.from({ length: 10 }, () => guard({ client, now: clock.now }));

    // Act
    const permits = await Promise.all(instances.map((instance) => instance.check(KEY, NO_WAITING)));
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
    await a.recordSuccess(await a.check(KEY));
    clock.time += 20 * MINUTE;

    // Act
    const ageing = await b.check(KEY, NO_WAITING);
    await b.recordSuccess(ageing);
    const refreshedAt = (await storedItem())?.verifiedAt;
    clock.time += 31 * MINUTE;
    const stale = await c.check(KEY, NO_WAITING);

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
    const failure = await rejectionOf(broken.check(KEY));

    // Assess
    expect(failure.failure).toBe('unavailable');
    expect(failure.message).toContain('not logging in');
  });

  it('refuses the login when the stored item cannot be trusted', async () => {
    // Prepare
    const a = guard();
    await a.recordSuccess(await a.check(KEY));
    await db.client.send(new PutCommand({ TableName: tableName, Item: { ...loginGuardKey(KEY), refusals: 'many' } }));

    // Act
    const failure = await rejectionOf(guard().check(KEY));

    // Assess
    expect(failure.failure).toBe('unavailable');
  });
});
