/**
 * The ThingSpace login guard: keeps every process, together, from locking the API user out with failed
 * logins.
 */
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { CallOptions } from '../../domain/ports';
import { ThingSpaceError } from '../../domain/thingspace-error';
import { backoff, type Sleep, sleep } from '../retry';

/**
 * The one rule: at most MAX_LOGIN_ATTEMPTS consecutive login attempts per ThingSpace API user without a
 * confirmed success, over every process, instance and restart. ThingSpace locks the user at five
 * consecutive failed logins, and only Verizon support unlocks it. An attempt is recorded BEFORE its
 * request is sent, so one whose verdict never arrives (timeout, reset, 5xx, crash) still counts. A success
 * anywhere resets the count; so does an operator (`npm run login-guard -- reset --user U`).
 *
 * Between attempts: the same credentials wait a doubling pause after an attempt without a success; new
 * credentials (a rotated password, told apart by a salted HMAC fingerprint) may try at once while the
 * count is below the limit. One attempt per user is in flight at a time, everywhere, under a lease.
 * If the record cannot be read or written, nobody logs in.
 */
export const MAX_LOGIN_ATTEMPTS = 4;

/** A user's record, as the store keeps it. Written whole, each write conditional on `version` (a verdict's also on `leaseOwner`). */
export interface LoginGuardRecord {
  version: number;
  /** Consecutive attempts without a confirmed success, the one in flight included. */
  attempts: number;
  /** HMAC-SHA256 under `salt` of the last attempt's username and password, hex: never reversible. */
  fingerprint?: string;
  salt?: string;
  /** The last attempt's credentials wait until then (epoch ms). */
  pausedUntil?: number;
  /** The attempt in flight: whose, and until when it may run. */
  leaseOwner?: string;
  leaseUntil?: number;
  lastAttemptAt?: number;
  /** How the last attempt ended, for operators: e.g. "refused: HTTP 400 UnifiedWebService.AUTH.Failed". */
  lastOutcome?: string;
  lastSuccessAt?: number;
}

/**
 * Where the records live: the history table when deployed and locally, a Map in unit tests. A call
 * gives up at `options.deadline` (the store's own budget without one).
 */
export interface LoginGuardStore {
  read(userKey: string, options?: CallOptions): Promise<LoginGuardRecord | undefined>;
  /** Writes when the stored record is still `expected` (undefined: no record yet); false if not. */
  write(
    userKey: string,
    record: LoginGuardRecord,
    expected: ExpectedRecord | undefined,
    options?: CallOptions,
  ): Promise<boolean>;
}

/**
 * The record a write replaces. Its lease owner too, for a verdict: an operator's reset deletes the record
 * and the next attempt starts again at version 1, so a version alone can name a record written after it.
 */
export interface ExpectedRecord {
  version: number;
  leaseOwner?: string;
}

/** Whether `current` is the record `expected` names (undefined: no record). */
function isExpectedRecord(current: LoginGuardRecord | undefined, expected: ExpectedRecord | undefined): boolean {
  if (expected === undefined) return current === undefined;
  return (
    current?.version === expected.version &&
    (expected.leaseOwner === undefined || current.leaseOwner === expected.leaseOwner)
  );
}

export class InMemoryLoginGuardStore implements LoginGuardStore {
  private readonly records = new Map<string, LoginGuardRecord>();

  async read(userKey: string): Promise<LoginGuardRecord | undefined> {
    const record = this.records.get(userKey);
    return record && { ...record };
  }

  async write(userKey: string, record: LoginGuardRecord, expected: ExpectedRecord | undefined): Promise<boolean> {
    if (!isExpectedRecord(this.records.get(userKey), expected)) return false;
    this.records.set(userKey, { ...record });
    return true;
  }
}

/** The record's key: a hash of the username (not a secret; the hash keeps keys uniform). */
export function userKey(username: string): string {
  return createHash('sha256')
    .update(JSON.stringify(['uws-user', username]))
    .digest('hex');
}

function fingerprintOf(credentials: LoginCredentials, salt: string): string {
  return createHmac('sha256', Buffer.from(salt, 'hex'))
    .update(JSON.stringify([credentials.username, credentials.password]))
    .digest('hex');
}

export interface LoginCredentials {
  username: string;
  password: string;
}

/** How long a login may wait for another instance's attempt, and when it must give up; the API call's Budget fits. */
export interface LoginWait {
  allowsWait(waitMs: number): boolean;
  readonly deadline?: number;
}

/** An attempt recorded by `begin`; hand it to `succeeded` or `failed`. */
export interface LoginPermit {
  readonly key: string;
  /** The record `begin` wrote: the verdict is written onto it, conditional on its version and lease owner, without a read. */
  readonly record: Readonly<LoginGuardRecord>;
}

export interface LoginGuardOptions {
  store: LoginGuardStore;
  /** How long an attempt may run before another instance may try; must cover the login request. */
  leaseMs: number;
  /** Pause after the first attempt without a success; doubles with each further one. */
  backoffMs?: number;
  maxBackoffMs?: number;
  pollMs?: number;
  now?: () => number;
  sleep?: Sleep;
}

const MAX_CONFLICTS = 10;
/**
 * The verdict's write: inside the 3 s an API request keeps back for its archive writes and answer, so a
 * throttled or stalled login-guard item cannot make the request overrun its function.
 */
const VERDICT_BUDGET_MS = 2_000;

export class LoginGuard {
  private readonly store: LoginGuardStore;
  private readonly leaseMs: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly pollMs: number;
  private readonly now: () => number;
  private readonly sleep: Sleep;

  constructor(options: LoginGuardOptions) {
    this.store = options.store;
    this.leaseMs = options.leaseMs;
    this.backoffMs = options.backoffMs ?? 60_000;
    this.maxBackoffMs = Math.max(this.backoffMs, options.maxBackoffMs ?? 3_600_000);
    this.pollMs = options.pollMs ?? 50;
    this.now = options.now ?? (() => Date.now());
    this.sleep = options.sleep ?? sleep;
  }

  /**
   * Records an attempt of these credentials before it is made, or throws without recording anything:
   * ThingSpaceError('auth') while the rule forbids it, ('unavailable') when the record cannot be used.
   */
  async begin(credentials: LoginCredentials, wait?: LoginWait): Promise<LoginPermit> {
    const key = userKey(credentials.username);
    const owner = randomUUID();
    const startedAt = this.now();
    const call: CallOptions = wait?.deadline === undefined ? {} : { deadline: wait.deadline };
    for (let conflicts = 0; ; ) {
      const record = await this.failClosed(() => this.store.read(key, call));
      // A write that landed though its answer was lost (the SDK's retry then failed the condition): this
      // attempt holds the lease, and waiting for it would only spend the count with nothing sent.
      if (record !== undefined && record.leaseOwner === owner) {
        return { key, record };
      }
      const now = this.now();
      const attempts = record?.attempts ?? 0;
      if (attempts >= MAX_LOGIN_ATTEMPTS) throw stoppedError(attempts);
      if (record?.leaseUntil !== undefined && record.leaseUntil > now) {
        // Another attempt is in flight: its verdict decides whether this one may be made at all.
        if (now - startedAt > this.leaseMs || (wait !== undefined && !wait.allowsWait(this.pollMs))) {
          throw new ThingSpaceError(
            'unavailable',
            'Another instance is logging in to ThingSpace as this API user; not logging in alongside it',
          );
        }
        await this.sleep(this.pollMs);
        continue;
      }
      const salt = record?.salt ?? randomBytes(16).toString('hex');
      const fingerprint = fingerprintOf(credentials, salt);
      const sameCredentials = record?.fingerprint === fingerprint;
      if (attempts > 0 && sameCredentials && record?.pausedUntil !== undefined && record.pausedUntil > now) {
        throw pausedError(record.pausedUntil - now, attempts);
      }
      const next: LoginGuardRecord = {
        ...record,
        version: (record?.version ?? 0) + 1,
        attempts: attempts + 1,
        salt,
        fingerprint,
        pausedUntil: now + this.backoffAfter(attempts + 1),
        leaseOwner: owner,
        leaseUntil: now + this.leaseMs,
        lastAttemptAt: now,
        lastOutcome: 'in flight',
      };
      const expected = record && { version: record.version };
      if (await this.failClosed(() => this.store.write(key, next, expected, call))) return { key, record: next };
      conflicts += 1;
      if (conflicts > MAX_CONFLICTS)
        throw new ThingSpaceError('unavailable', 'The ThingSpace login guard is too contended; not logging in');
    }
  }

  /** ThingSpace accepted the login: the user's count starts again. False when the record had changed. */
  async succeeded(permit: LoginPermit): Promise<boolean> {
    return this.finish(permit, (record, now) => {
      const { pausedUntil: _pause, leaseOwner: _owner, leaseUntil: _until, ...rest } = record;
      return { ...rest, attempts: 0, lastOutcome: 'succeeded', lastSuccessAt: now };
    });
  }

  /** The attempt ended without a success (its count stands): the pause starts again from now. False when the record had changed. */
  async failed(permit: LoginPermit, outcome: string): Promise<boolean> {
    return this.finish(permit, (record, now) => {
      const { leaseOwner: _owner, leaseUntil: _until, ...rest } = record;
      return { ...rest, pausedUntil: now + this.backoffAfter(record.attempts), lastOutcome: outcome };
    });
  }

  /**
   * Writes the verdict only onto the record this attempt wrote, without reading it again: the write is
   * conditional on that record's version and lease owner, so anything since (an operator's reset, another
   * attempt after this lease ran out, even one rebuilt to the same version after a reset) fails the
   * condition and is left as it is; the count is never lowered on a guess. Under a short budget of its own,
   * not the API call's deadline (a success that is not recorded still counts as an attempt against the
   * user's lockout, so it is worth the time the answer has left).
   */
  private async finish(
    permit: LoginPermit,
    change: (record: LoginGuardRecord, now: number) => LoginGuardRecord,
  ): Promise<boolean> {
    const { version, leaseOwner } = permit.record;
    const next = { ...change(permit.record, this.now()), version: version + 1 };
    return this.store.write(permit.key, next, { version, leaseOwner }, { deadline: Date.now() + VERDICT_BUDGET_MS });
  }

  /** No jitter: the pause is the rule an operator is told about, not a spread of retries. */
  private backoffAfter(attempts: number): number {
    return backoff(attempts, { baseMs: this.backoffMs, capMs: this.maxBackoffMs, jitter: 'none' });
  }

  private async failClosed<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw new ThingSpaceError(
        'unavailable',
        'The ThingSpace login guard could not be read or written; not logging in, to keep the API user from being locked',
        {},
        { cause: error },
      );
    }
  }
}

function stoppedError(attempts: number): ThingSpaceError {
  return new ThingSpaceError(
    'auth',
    `ThingSpace logins are stopped for this API user after ${attempts} consecutive attempts without a success ` +
      '(ThingSpace locks it at 5): check the password, then run `npm run login-guard -- reset --user <API username>`',
  );
}

function pausedError(waitMs: number, attempts: number): ThingSpaceError {
  return new ThingSpaceError(
    'auth',
    `ThingSpace logins with these credentials are paused for another ${Math.ceil(waitMs / 1000)} s after ${attempts} ` +
      `consecutive attempt(s) without a success (at most ${MAX_LOGIN_ATTEMPTS}); a new password may be tried at once`,
  );
}
