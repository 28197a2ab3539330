import { ThingSpaceError } from '../../domain/thingspace-error';

/**
 * Logins to ThingSpace's M2M API are dangerous: five consecutive refused logins lock the UWS API user,
 * and only Verizon support can unlock it. A login guard decides whether a login may be attempted and
 * remembers refusals, per API user login: by the hash of (username, password) that session-cache.ts
 * computes (loginKey), never by the values, and not by the app key pair, which does not lock the user.
 * The in-memory guard also pauses token requests the token endpoint refused, by the hash of the app key
 * pair (appCredentialsKey); those pauses never hold logins back.
 */

export interface LoginGuardPolicy {
  /** First pause after a refused login; each further refusal doubles it. */
  loginBackoffMs: number;
  maxLoginBackoffMs: number;
  /** After this many refusals of the same credentials, logins stop until those credentials change. */
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
 * The port, keyed by the login key (username and password). `check` runs before a login (the token
 * request of that login included) and throws ThingSpaceError('auth') without touching ThingSpace while
 * logins are paused or stopped; it may wait for another instance's login of the same user credentials.
 * Exactly one of the other three ends the login.
 */
export interface LoginGuard {
  check(credentialsKey: string, wait?: LoginWait): Promise<LoginPermit>;
  /** ThingSpace refused the login itself: pause, or stop after too many. */
  recordRefusal(permit: LoginPermit, refusal: LoginRefusal): Promise<RefusalRecord>;
  /** ThingSpace accepted them. */
  recordSuccess(permit: LoginPermit): Promise<void>;
  /** The login ended without a verdict on the user's credentials (timeout, 5xx, network, refused app key pair). */
  release(permit: LoginPermit): Promise<void>;
}

/** The pause after the `refusals`-th consecutive refusal: doubling from loginBackoffMs, Infinity once stopped. */
export function pauseAfterRefusal(refusals: number, policy: LoginGuardPolicy): number {
  if (refusals >= policy.maxLoginRefusals) return Number.POSITIVE_INFINITY;
  const doublings = Math.min(Math.max(refusals - 1, 0), 40);
  return Math.min(policy.loginBackoffMs * 2 ** doublings, policy.maxLoginBackoffMs);
}

/** What a pause holds back: logins (keyed per API user login) or token requests (keyed per app key pair). */
export type PausedStep = 'login' | 'token';

/** How the log and errors name the end of a stop, per step. */
export const STOPPED_UNTIL: Record<PausedStep, string> = {
  login: "until the credentials change (the API user's password or username; a new app key does not count)",
  token: 'until the app key or app secret change',
};

/** The error of a login the guard did not allow. Carries the last refusal's status and code only. */
export function loginsPausedError(waitMs: number, lastRefusal: LoginRefusal | undefined, scope = '', step: PausedStep = 'login'): ThingSpaceError {
  const until = Number.isFinite(waitMs) ? `for another ${Math.ceil(waitMs / 1000)} s` : STOPPED_UNTIL[step];
  const what =
    step === 'login'
      ? `ThingSpace logins are paused${scope} ${until} after a refused login, to keep the API user from being locked`
      : `ThingSpace token requests are paused${scope} ${until} after the token endpoint refused the app key pair`;
  return new ThingSpaceError(
    'auth',
    what,
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

  /**
   * Throws ThingSpaceError('auth') while requests under this key are paused or stopped. The key says
   * what is paused: a login key pauses logins, an app key pair's key pauses token requests; `step` only
   * words the error.
   */
  assertAllowed(credentialsKey: string, step: PausedStep = 'login'): void {
    const state = this.states.get(credentialsKey);
    if (!state) return;
    const waitMs = state.pausedUntil - this.now();
    if (waitMs > 0) throw loginsPausedError(waitMs, state.lastRefusal, '', step);
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
