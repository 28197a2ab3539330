import { ThingSpaceError } from '../../domain/thingspace-error';

/**
 * Logins to ThingSpace's M2M API are dangerous: five consecutive refused logins lock the UWS API user,
 * and only Verizon support can unlock it. A login guard decides whether a login may be attempted and
 * remembers refusals, per set of credentials (by the hash session-cache.ts computes, never by values).
 */

export interface LoginGuardPolicy {
  /** First pause after a refused login; each further refusal doubles it. */
  loginBackoffMs: number;
  maxLoginBackoffMs: number;
  /** After this many refusals of the same credentials, logins stop until the credentials change. */
  maxLoginRefusals: number;
}

export const DEFAULT_LOGIN_GUARD_POLICY: LoginGuardPolicy = {
  loginBackoffMs: 60_000,
  maxLoginBackoffMs: 3_600_000,
  maxLoginRefusals: 3,
};

/** What ThingSpace answered when it refused the credentials: never the credentials themselves. */
export interface LoginRefusal {
  status: number;
  errorCode?: string;
}

/** The guard's state after a refusal was recorded, for the log. */
export interface RefusalRecord {
  refusals: number;
  /** Infinity when logins stopped until the credentials change. */
  pausedForMs: number;
}

/** How long a guard may wait for another instance's login to finish; the API call's Budget fits. */
export interface LoginWait {
  allowsWait(waitMs: number): boolean;
}

/** What `check` granted. Hand it back to exactly one of recordSuccess, recordRefusal or release. */
export interface LoginPermit {
  readonly credentialsKey: string;
}

/**
 * The port. `check` runs before a login (the token request of that login included) and throws
 * ThingSpaceError('auth') without touching ThingSpace while logins are paused or stopped; it may wait
 * for another instance's login of the same credentials. Exactly one of the other three ends the login.
 */
export interface LoginGuard {
  check(credentialsKey: string, wait?: LoginWait): Promise<LoginPermit>;
  /** ThingSpace refused the credentials (token endpoint or login): pause, or stop after too many. */
  recordRefusal(permit: LoginPermit, refusal: LoginRefusal): Promise<RefusalRecord>;
  /** ThingSpace accepted them. */
  recordSuccess(permit: LoginPermit): Promise<void>;
  /** The login ended without a verdict on the credentials (timeout, 5xx, network). */
  release(permit: LoginPermit): Promise<void>;
}

/** The pause after the `refusals`-th consecutive refusal: doubling from loginBackoffMs, Infinity once stopped. */
export function pauseAfterRefusal(refusals: number, policy: LoginGuardPolicy): number {
  if (refusals >= policy.maxLoginRefusals) return Number.POSITIVE_INFINITY;
  const doublings = Math.min(Math.max(refusals - 1, 0), 40);
  return Math.min(policy.loginBackoffMs * 2 ** doublings, policy.maxLoginBackoffMs);
}

/** The error of a login the guard did not allow. Carries the last refusal's status and code only. */
export function loginsPausedError(waitMs: number, lastRefusal: LoginRefusal | undefined, scope = ''): ThingSpaceError {
  const until = Number.isFinite(waitMs) ? `for another ${Math.ceil(waitMs / 1000)} s` : 'until the credentials change';
  return new ThingSpaceError(
    'auth',
    `ThingSpace logins are paused${scope} ${until} after a refused login, to keep the API user from being locked`,
    lastRefusal === undefined ? {} : { status: lastRefusal.status, ...(lastRefusal.errorCode === undefined ? {} : { errorCode: lastRefusal.errorCode }) },
  );
}

interface LocalState {
  refusals: number;
  pausedUntil: number;
  lastRefusal?: LoginRefusal;
}

/** Credentials remembered at once; more means rotation churn, and the oldest state is dropped. */
const MAX_REMEMBERED_CREDENTIALS = 16;

/**
 * The guard of one process: no I/O, so it costs nothing. Every client runs one (it is all a single
 * process needs, since its logins are single-flight already); a shared guard is consulted in addition.
 */
export class InMemoryLoginGuard implements LoginGuard {
  private readonly states = new Map<string, LocalState>();

  constructor(
    private readonly policy: LoginGuardPolicy = DEFAULT_LOGIN_GUARD_POLICY,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Throws ThingSpaceError('auth') while logins with these credentials are paused or stopped. */
  assertAllowed(credentialsKey: string): void {
    const state = this.states.get(credentialsKey);
    if (!state) return;
    const waitMs = state.pausedUntil - this.now();
    if (waitMs > 0) throw loginsPausedError(waitMs, state.lastRefusal);
  }

  refused(credentialsKey: string, refusal: LoginRefusal): RefusalRecord {
    const refusals = (this.states.get(credentialsKey)?.refusals ?? 0) + 1;
    const pausedForMs = pauseAfterRefusal(refusals, this.policy);
    this.states.delete(credentialsKey);
    this.states.set(credentialsKey, { refusals, pausedUntil: this.now() + pausedForMs, lastRefusal: refusal });
    const oldest = this.states.keys().next().value;
    if (this.states.size > MAX_REMEMBERED_CREDENTIALS && oldest !== undefined) this.states.delete(oldest);
    return { refusals, pausedForMs };
  }

  succeeded(credentialsKey: string): void {
    this.states.delete(credentialsKey);
  }

  async check(credentialsKey: string): Promise<LoginPermit> {
    this.assertAllowed(credentialsKey);
    return { credentialsKey };
  }

  async recordRefusal(permit: LoginPermit, refusal: LoginRefusal): Promise<RefusalRecord> {
    return this.refused(permit.credentialsKey, refusal);
  }

  async recordSuccess(permit: LoginPermit): Promise<void> {
    this.succeeded(permit.credentialsKey);
  }

  async release(_permit: LoginPermit): Promise<void> {
    // Nothing is held: one process never runs two logins of the same credentials at once.
  }
}
