import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, type DynamoDBDocumentClient, type PutCommandInput } from '@aws-sdk/lib-dynamodb';
import { ThingSpaceError } from '../../domain/thingspace-error';
import {
  afterRefusal,
  assertMayLogIn,
  loginGuardPolicy,
  USER_STOPPED_UNTIL,
  type GuardWording,
  type LoginAttempt,
  type LoginGuard,
  type LoginGuardPolicy,
  type LoginPermit,
  type LoginRefusal,
  type LoginWait,
  type RefusalRecord,
  type UserRefusals,
} from '../thingspace/login-guard';
import { isConditionalCheckFailed, retryThrottled, type RetryPolicy } from './retry';
import { ITEM_TYPES, loginGuardKey } from './table-schema';

export interface DynamoDbLoginGuardOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /**
   * Pauses after refusals, counted over every instance. Defaults: 1 min doubling to 1 h; a password is
   * stopped after 3 consecutive refusals, every password after 4 consecutive refusals of the user.
   */
  policy?: Partial<LoginGuardPolicy>;
  /**
   * How long one instance may hold the right to try credentials not known to be good. Must cover that
   * instance's token request and login (two request timeouts): if it ran out mid-login, a second
   * instance could try the same credentials at the same time.
   */
  leaseMs?: number;
  /** A successful login this recent lets every instance log in without a lease (one GetItem, no write). */
  trustVerifiedForMs?: number;
  /** How often an instance waiting for another's login looks again. */
  pollMs?: number;
  /** Races lost in a row (another instance wrote the item first) before a guard operation gives up. */
  maxConflicts?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  newLeaseId?: () => string;
}

/**
 * The guard item, one per API user (keyed by the SHA-256 of the username, not by the password or the app
 * key pair: ThingSpace locks the user, whatever passwords were tried). Every write is a whole-item
 * conditional put.
 */
interface GuardItem {
  pk: string;
  sk: string;
  type: typeof ITEM_TYPES.loginGuard;
  /** Bumped by every write; each write is conditional on the version it read. */
  version: number;
  /** Consecutive refusals of the user since the last successful login, over every instance, whatever the passwords. */
  refusals: number;
  /** Consecutive refusals of the password refusedPasswordVerifier names (the last refused one). */
  passwordRefusals?: number;
  /** No login with the refused password before this (epoch ms). */
  pausedUntil?: number;
  /** No login with any password until someone deletes this item or a login succeeds elsewhere. */
  stopped?: boolean;
  /**
   * scrypt(username, password) of the last refused password, under refusedPasswordSalt (random per item),
   * both hex: tells a retry of that password from a rotated one. Written only with a refusal.
   */
  refusedPasswordVerifier?: string;
  refusedPasswordSalt?: string;
  lastRefusedAt?: number;
  status?: number;
  errorCode?: string;
  /** The last successful login seen (epoch ms). */
  verifiedAt?: number;
  /** The instance allowed to try credentials not known to be good, and until when. */
  leaseOwner?: string;
  leaseUntil?: number;
  /** For people reading the table. */
  updatedAt: string;
}

interface DynamoDbLoginPermit extends LoginPermit {
  /** Set when this login holds the lease. */
  readonly leaseOwner?: string;
  /** Whether a success must be written: a lease, a refusal, or an ageing verification is on record. */
  readonly confirm: boolean;
  readonly checkedAt: number;
}

/** How long one DynamoDB operation of the guard keeps retrying throttling. */
const THROTTLING_BUDGET_MS = 2_000;
const SHARED: GuardWording = { scope: ' on every instance', userStoppedUntil: USER_STOPPED_UNTIL.shared };

/**
 * The login guard of every instance of the service, in the history table (GetItem and conditional
 * PutItem only). Refusals anywhere count against the user everywhere: the refused password pauses, and
 * stops after maxLoginRefusals; another password may be tried while the user's consecutive refusals are
 * below maxConsecutiveUserRefusals, and then none. A user not known to be good (never accepted, refused
 * before, or not accepted for trustVerifiedForMs) is tried by one instance at a time, under a lease; the
 * others wait for its verdict. A known-good user costs one GetItem per login, no write and no key
 * derivation: the slow verifier of a refused password is derived only when a refusal is on record.
 *
 * When DynamoDB fails, `check` throws ThingSpaceError('unavailable') and nobody logs in: a failed request
 * is far better than a locked API user. Deleting the item lifts a pause or a stop.
 */
export class DynamoDbLoginGuard implements LoginGuard {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly policy: LoginGuardPolicy;
  private readonly leaseMs: number;
  private readonly trustMs: number;
  private readonly pollMs: number;
  private readonly maxConflicts: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly newLeaseId: () => string;
  private readonly retry: RetryPolicy;

  constructor(options: DynamoDbLoginGuardOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.policy = loginGuardPolicy(options.policy);
    this.leaseMs = options.leaseMs ?? 20_000;
    this.trustMs = options.trustVerifiedForMs ?? 30 * 60_000;
    this.pollMs = options.pollMs ?? 200;
    this.maxConflicts = options.maxConflicts ?? 10;
    this.now = options.now ?? (() => Date.now());
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.newLeaseId = options.newLeaseId ?? randomUUID;
    this.retry = { baseDelayMs: 25, maxDelayMs: 500, sleep: this.sleep, now: this.now, random: Math.random };
  }

  async check(attempt: LoginAttempt, wait?: LoginWait): Promise<DynamoDbLoginPermit> {
    try {
      return await this.acquire(attempt, wait);
    } catch (error) {
      if (error instanceof ThingSpaceError) throw error;
      throw new ThingSpaceError(
        'unavailable',
        'The shared ThingSpace login guard could not be read or written; not logging in, to keep the API user from being locked',
        {},
        { cause: error },
      );
    }
  }

  async recordRefusal(permit: DynamoDbLoginPermit, refusal: LoginRefusal): Promise<RefusalRecord> {
    return this.update(permit.attempt.userKey, async (item, now) => {
      const { state, record } = await afterRefusal(item === undefined ? undefined : refusalsOf(item), permit.attempt, refusal, this.policy, now);
      // A refused user is no longer known to be good, and any lease ends: the refusals now rule.
      const next: GuardItem = { ...this.blank(permit.attempt.userKey, item, now), ...refusalFields(state), lastRefusedAt: now };
      return { next, result: record };
    });
  }

  async recordSuccess(permit: DynamoDbLoginPermit): Promise<void> {
    if (!permit.confirm) return;
    await this.update(permit.attempt.userKey, async (item, now) => {
      // A refusal recorded after this login was allowed is newer news than this success: keep it.
      if (item?.lastRefusedAt !== undefined && item.lastRefusedAt >= permit.checkedAt) return { result: undefined };
      const alreadyConfirmed =
        item !== undefined && item.refusals === 0 && item.verifiedAt !== undefined && now - item.verifiedAt < this.trustMs / 2;
      if (alreadyConfirmed && (item.leaseOwner === undefined || item.leaseOwner !== permit.leaseOwner)) return { result: undefined };
      return { next: { ...this.blank(permit.attempt.userKey, item, now), refusals: 0, verifiedAt: now }, result: undefined };
    });
  }

  async release(permit: DynamoDbLoginPermit): Promise<void> {
    if (permit.leaseOwner === undefined) return;
    await this.update(permit.attempt.userKey, async (item, now) => {
      if (item === undefined || item.leaseOwner !== permit.leaseOwner) return { result: undefined };
      const { leaseOwner: _owner, leaseUntil: _until, ...rest } = item;
      return { next: { ...rest, version: item.version + 1, updatedAt: new Date(now).toISOString() }, result: undefined };
    });
  }

  private async acquire(attempt: LoginAttempt, wait: LoginWait | undefined): Promise<DynamoDbLoginPermit> {
    const key = attempt.userKey;
    const leaseOwner = this.newLeaseId();
    const startedAt = this.now();
    let conflicts = 0;
    for (;;) {
      const item = await this.read(key);
      const now = this.now();
      // Derives the refused password's verifier only when a refusal is on record.
      await assertMayLogIn(item === undefined ? undefined : refusalsOf(item), attempt, this.policy, now, SHARED);
      if (item !== undefined && this.trusted(item, now)) {
        return { attempt, confirm: now - (item.verifiedAt ?? 0) >= this.trustMs / 2, checkedAt: now };
      }
      if (item?.leaseUntil !== undefined && item.leaseUntil > now) {
        // Another instance is trying this user's login: its verdict decides, so wait for it.
        // A lease lasts leaseMs, so waiting longer means a chain of instances that all failed to answer.
        if (now - startedAt > this.leaseMs || (wait !== undefined && !wait.allowsWait(this.pollMs))) {
          throw new ThingSpaceError('unavailable', 'Another instance is trying the ThingSpace credentials; not logging in alongside it');
        }
        await this.sleep(this.pollMs);
        continue;
      }
      const next: GuardItem = { ...this.kept(key, item, now), leaseOwner, leaseUntil: now + this.leaseMs };
      if (await this.put(next, item)) return { attempt, leaseOwner, confirm: true, checkedAt: now };
      conflicts += 1;
      if (conflicts > this.maxConflicts) throw new ThingSpaceError('unavailable', 'The shared ThingSpace login guard is too contended; not logging in');
    }
  }

  /** Known good: accepted recently and not refused since. */
  private trusted(item: GuardItem, now: number): boolean {
    return item.refusals === 0 && item.verifiedAt !== undefined && now - item.verifiedAt < this.trustMs;
  }

  /** Read, change, conditional put; a lost race re-reads. `change` returns no `next` to write nothing. */
  private async update<T>(
    key: string,
    change: (item: GuardItem | undefined, now: number) => Promise<{ next?: GuardItem; result: T }>,
  ): Promise<T> {
    for (let conflicts = 0; ; conflicts += 1) {
      const item = await this.read(key);
      const { next, result } = await change(item, this.now());
      if (next === undefined || (await this.put(next, item))) return result;
      if (conflicts >= this.maxConflicts) throw new Error('The shared ThingSpace login guard is too contended');
    }
  }

  /** The item's identity and a bumped version, without state: callers add what they keep. */
  private blank(key: string, item: GuardItem | undefined, now: number): GuardItem {
    return {
      ...loginGuardKey(key),
      type: ITEM_TYPES.loginGuard,
      version: (item?.version ?? 0) + 1,
      refusals: 0,
      updatedAt: new Date(now).toISOString(),
    };
  }

  /** What taking a lease keeps: everything but the old lease (refusals, their pause, the last verification). */
  private kept(key: string, item: GuardItem | undefined, now: number): GuardItem {
    if (item === undefined) return this.blank(key, item, now);
    const { leaseOwner: _owner, leaseUntil: _until, ...rest } = item;
    return { ...rest, version: item.version + 1, updatedAt: new Date(now).toISOString() };
  }

  private async read(key: string): Promise<GuardItem | undefined> {
    const { Item } = await retryThrottled(
      () => this.client.send(new GetCommand({ TableName: this.tableName, Key: loginGuardKey(key), ConsistentRead: true })),
      this.now() + THROTTLING_BUDGET_MS,
      this.retry,
    );
    return Item === undefined ? undefined : parseGuardItem(Item);
  }

  /** Writes `next` if the item is still as read; false when another instance wrote first. */
  private async put(next: GuardItem, read: GuardItem | undefined): Promise<boolean> {
    const condition: Pick<PutCommandInput, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> =
      read === undefined
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : { ConditionExpression: '#version = :version', ExpressionAttributeNames: { '#version': 'version' }, ExpressionAttributeValues: { ':version': read.version } };
    try {
      await retryThrottled(
        () => this.client.send(new PutCommand({ TableName: this.tableName, Item: next, ...condition })),
        this.now() + THROTTLING_BUDGET_MS,
        this.retry,
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}

function lastRefusal(item: GuardItem): LoginRefusal | undefined {
  if (item.status === undefined) return undefined;
  return item.errorCode === undefined ? { status: item.status } : { status: item.status, errorCode: item.errorCode };
}

/** The item's refusals as the policy (login-guard.ts) sees them. */
function refusalsOf(item: GuardItem): UserRefusals {
  const refusal = lastRefusal(item);
  return {
    refusals: item.refusals,
    passwordRefusals: item.passwordRefusals ?? item.refusals,
    ...(item.pausedUntil === undefined ? {} : { pausedUntil: item.pausedUntil }),
    ...(item.refusedPasswordVerifier === undefined || item.refusedPasswordSalt === undefined
      ? {}
      : { verifier: { hash: item.refusedPasswordVerifier, salt: item.refusedPasswordSalt } }),
    ...(refusal === undefined ? {} : { lastRefusal: refusal }),
    ...(item.stopped ? { userStopped: true } : {}),
  };
}

/** The item's attributes of a state after a refusal. */
function refusalFields(state: UserRefusals): Partial<GuardItem> {
  return {
    refusals: state.refusals,
    passwordRefusals: state.passwordRefusals,
    ...(state.pausedUntil === undefined ? {} : { pausedUntil: state.pausedUntil }),
    ...(state.userStopped ? { stopped: true } : {}),
    ...(state.verifier === undefined ? {} : { refusedPasswordVerifier: state.verifier.hash, refusedPasswordSalt: state.verifier.salt }),
    ...(state.lastRefusal === undefined
      ? {}
      : { status: state.lastRefusal.status, ...(state.lastRefusal.errorCode === undefined ? {} : { errorCode: state.lastRefusal.errorCode }) }),
  };
}

/**
 * The stored item, read defensively: it is plain data anyone with table access could edit. An item
 * that cannot be trusted throws, and `check` then refuses the login (fail safe).
 */
function parseGuardItem(raw: Record<string, unknown>): GuardItem {
  const number = (name: string): number | undefined => {
    const value = raw[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`The login guard item's ${name} is not a number`);
    return value;
  };
  const text = (name: string): string | undefined => (typeof raw[name] === 'string' ? (raw[name] as string) : undefined);
  const version = number('version');
  if (version === undefined) throw new Error('The login guard item has no version');
  const item: GuardItem = {
    pk: String(raw.pk),
    sk: String(raw.sk),
    type: ITEM_TYPES.loginGuard,
    version,
    refusals: number('refusals') ?? 0,
    updatedAt: text('updatedAt') ?? '',
  };
  const hex = (name: string): string | undefined => {
    const value = raw[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !/^(?:[0-9a-f]{2})+$/.test(value)) throw new Error(`The login guard item's ${name} is not hex`);
    return value;
  };
  const refusedPasswordVerifier = hex('refusedPasswordVerifier');
  const refusedPasswordSalt = hex('refusedPasswordSalt');
  if ((refusedPasswordVerifier === undefined) !== (refusedPasswordSalt === undefined)) {
    throw new Error('The login guard item has half a password verifier');
  }
  const optional: Partial<GuardItem> = {
    passwordRefusals: number('passwordRefusals'),
    refusedPasswordVerifier,
    refusedPasswordSalt,
    pausedUntil: number('pausedUntil'),
    stopped: raw.stopped === true ? true : undefined,
    lastRefusedAt: number('lastRefusedAt'),
    status: number('status'),
    errorCode: text('errorCode'),
    verifiedAt: number('verifiedAt'),
    leaseOwner: text('leaseOwner'),
    leaseUntil: number('leaseUntil'),
  };
  for (const [name, value] of Object.entries(optional)) {
    if (value !== undefined) Object.assign(item, { [name]: value });
  }
  return item;
}
