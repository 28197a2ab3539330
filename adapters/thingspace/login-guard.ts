import { ThingSpaceError } from '../../domain/thingspace-error';

/**
 * Logins to ThingSpace's M2M API are dangerous: five CONSECUTIVE refused logins lock the UWS API user,
 * whatever passwords were tried, and only Verizon support can unlock it. A login guard decides whether a
 * login may be attempted and remembers refusals per API USER: under the SHA-256 of the username
 * (login-attempt.ts userKey), never under the password, and not under the app key pair, which does not
 * lock the user. Refusals of one password therefore count against every later password of that user.
 *
 * Whether a login retries the refused password or tries a new one is told by a slow verifier (scrypt,
 * random salt) of the refused password, stored beside the count when a refusal is recorded. It is derived
 * only when the guard has a refusal on record: a user with no refusals costs no key derivation at all.
 *
 * The in-memory guard also pauses token requests the token endpoint refused, by the hash of the app key
 * pair (appCredentialsKey); those pauses never hold logins back.
 */

export interface LoginGuardPolicy {
  /** First pause after a refused login; each further consecutive refusal of the user doubles it. */
  loginBackoffMs: number;
  maxLoginBackoffMs: number;
  /** After this many consecutive refusals of the same password, that password is never tried again. */
  maxLoginRefusals: number;
  /**
   * After this many consecutive refusals of the user, whatever the passwords, no login is tried until the
   * guard is cleared (a success elsewhere, or an operator deleting the shared guard item). ThingSpace locks
   * the user at five: this must stay below that.
   */
  maxConsecutiveUserRefusals: number;
}

/** ThingSpace locks the API user after this many consecutive failed logins. */
export const THINGSPACE_LOCKOUT_THRESHOLD = 5;

export const DEFAULT_LOGIN_GUARD_POLICY: LoginGuardPolicy = {
  loginBackoffMs: 60_000,
  maxLoginBackoffMs: 3_600_000,
  maxLoginRefusals: 3,
  maxConsecutiveUserRefusals: THINGSPACE_LOCKOUT_THRESHOLD - 1,
};

/** A policy completed with the defaults, the user's limit kept below ThingSpace's lockout. */
export function loginGuardPolicy(policy: Partial<LoginGuardPolicy> = {}): LoginGuardPolicy {
  const merged = { ...DEFAULT_LOGIN_GUARD_POLICY, ...policy };
  return { ...merged, maxConsecutiveUserRefusals: Math.min(merged.maxConsecutiveUserRefusals, THINGSPACE_LOCKOUT_THRESHOLD - 1) };
}

/** What ThingSpace answered when it refused the credentials: never the credentials themselves. */
export interface LoginRefusal {
  status: number;
  errorCode?: string;
}

/** The guard's state after a refusal was recorded, for the log. */
export interface RefusalRecord {
  /** Consecutive refusals of the user, whatever the passwords. */
  refusals: number;
  /** Infinity when that password (or, at maxConsecutiveUserRefusals, every password) is stopped. */
  pausedForMs: number;
}

/** How long a guard may wait for another instance's login to finish; the API call's Budget fits. */
export interface LoginWait {
  allowsWait(waitMs: number): boolean;
}

/** A slow hash of a refused password: scrypt(username, password) under a random salt, both hex. */
export interface PasswordVerifier {
  salt: string;
  hash: string;
}

/**
 * One API user login as the guards see it: the user's key, and the means to compare its password with a
 * refused one, without ever handing the password over. Both methods are slow (scrypt) and memoised.
 */
export interface LoginAttempt {
  /** SHA-256 of the username: the key of every login guard. */
  readonly userKey: string;
  /** Whether this password is the one `verifier` was derived from. */
  matches(verifier: PasswordVerifier): Promise<boolean>;
  /** A verifier of this password under a fresh random salt, to store with a refusal. */
  newVerifier(): Promise<PasswordVerifier>;
}

/** What `check` granted. Hand it back to exactly one of recordSuccess, recordRefusal or release. */
export interface LoginPermit {
  readonly attempt: LoginAttempt;
}

/**
 * The port, keyed by the user (LoginAttempt.userKey). `check` runs before a login (the token request of
 * that login included) and throws ThingSpaceError('auth') without touching ThingSpace while the attempt
 * may not log in; it may wait for another instance's login of the same user. Exactly one of the other
 * three ends the login.
 */
export interface LoginGuard {
  check(attempt: LoginAttempt, wait?: LoginWait): Promise<LoginPermit>;
  /** ThingSpace refused the login itself: count it against the user, pause, or stop. */
  recordRefusal(permit: LoginPermit, refusal: LoginRefusal): Promise<RefusalRecord>;
  /** ThingSpace accepted them: the user's count starts again. */
  recordSuccess(permit: LoginPermit): Promise<void>;
  /** The login ended without a verdict on the user's credentials (timeout, 5xx, network, refused app key pair). */
  release(permit: LoginPermit): Promise<void>;
}

/** The doubling pause after the `refusals`-th consecutive refusal, capped; never Infinity. */
export function backoffAfterRefusal(refusals: number, policy: Pick<LoginGuardPolicy, 'loginBackoffMs' | 'maxLoginBackoffMs'>): number {
  const doublings = Math.min(Math.max(refusals - 1, 0), 40);
  return Math.min(policy.loginBackoffMs * 2 ** doublings, policy.maxLoginBackoffMs);
}

/** The pause after the `refusals`-th consecutive refusal of one thing: doubling, Infinity once stopped. */
export function pauseAfterRefusal(refusals: number, policy: Pick<LoginGuardPolicy, 'loginBackoffMs' | 'maxLoginBackoffMs' | 'maxLoginRefusals'>): number {
  if (refusals >= policy.maxLoginRefusals) return Number.POSITIVE_INFINITY;
  return backoffAfterRefusal(refusals, policy);
}

/** What a pause holds back: logins (keyed per API user) or token requests (keyed per app key pair). */
export type PausedStep = 'login' | 'token';

/** How the log and errors name the end of a stop, per step. */
export const STOPPED_UNTIL: Record<PausedStep, string> = {
  login: "until the credentials change (the API user's password or username; a new app key does not count)",
  token: 'until the app key or app secret change',
};

/** How the errors name the end of a stop of every login of the user, per guard. */
export const USER_STOPPED_UNTIL = {
  shared:
    'until an operator deletes the login guard item (history table, pk THINGSPACE#LOGIN, sk GUARD#<SHA-256 of the username>) or a login succeeds elsewhere',
  local: 'until this process restarts or a login succeeds',
} as const;

/** The error of a login the guard did not allow. Carries the last refusal's status and code only. */
export function loginsPausedError(waitMs: number, lastRefusal: LoginRefusal | undefined, scope = '', step: PausedStep = 'login'): ThingSpaceError {
  const until = Number.isFinite(waitMs) ? `for another ${Math.ceil(waitMs / 1000)} s` : STOPPED_UNTIL[step];
  const what =
    step === 'login'
      ? `ThingSpace logins are paused${scope} ${until} after a refused login, to keep the API user from being locked`
      : `ThingSpace token requests are paused${scope} ${until} after the token endpoint refused the app key pair`;
  return new ThingSpaceError('auth', what, refusalDetails(lastRefusal));
}

/** The error once the user's consecutive refusals reached maxConsecutiveUserRefusals: no password is tried. */
export function userStoppedError(refusals: number, lastRefusal: LoginRefusal | undefined, scope: string, until: string): ThingSpaceError {
  return new ThingSpaceError(
    'auth',
    `ThingSpace logins are stopped${scope} for every password after ${refusals} consecutive refused logins of the API user ` +
      `(ThingSpace locks it at ${THINGSPACE_LOCKOUT_THRESHOLD}), ${until}`,
    refusalDetails(lastRefusal),
  );
}

function refusalDetails(lastRefusal: LoginRefusal | undefined): { status?: number; errorCode?: string } {
  if (lastRefusal === undefined) return {};
  return lastRefusal.errorCode === undefined ? { status: lastRefusal.status } : { status: lastRefusal.status, errorCode: lastRefusal.errorCode };
}

/** What a guard remembers of a user's refusals, in memory or in the shared item. */
export interface UserRefusals {
  /** Consecutive refusals of the user since the last success, whatever the passwords. */
  refusals: number;
  /** Consecutive refusals of the password `verifier` names (the last refused one). */
  passwordRefusals: number;
  /** No login with the refused password before this (epoch ms). */
  pausedUntil?: number;
  /** Of the last refused password; missing only if it could not be derived, and then every password counts as it. */
  verifier?: PasswordVerifier;
  lastRefusal?: LoginRefusal;
  /** Set by a store that recorded a stop of every password (honoured whatever the policy says). */
  userStopped?: boolean;
}

/** How a guard words its stops: its scope in messages, and what lifts a stop of the user. */
export interface GuardWording {
  scope: string;
  userStoppedUntil: string;
}

/**
 * Throws when the attempt may not log in under `state`. Derives nothing unless a refusal is on record:
 * then it asks whether the attempt's password is the refused one. A different password may be tried at
 * once (the operator rotated it), while the user's count is below maxConsecutiveUserRefusals.
 */
export async function assertMayLogIn(
  state: UserRefusals | undefined,
  attempt: LoginAttempt,
  policy: LoginGuardPolicy,
  now: number,
  wording: GuardWording,
): Promise<void> {
  if (state === undefined || state.refusals <= 0) return;
  if (state.userStopped || state.refusals >= policy.maxConsecutiveUserRefusals) {
    throw userStoppedError(state.refusals, state.lastRefusal, wording.scope, wording.userStoppedUntil);
  }
  if (state.verifier !== undefined && !(await attempt.matches(state.verifier))) return;
  if (state.passwordRefusals >= policy.maxLoginRefusals) throw loginsPausedError(Number.POSITIVE_INFINITY, state.lastRefusal, wording.scope);
  if (state.pausedUntil !== undefined && state.pausedUntil > now) throw loginsPausedError(state.pausedUntil - now, state.lastRefusal, wording.scope);
}

/** The state after `attempt` was refused: counted against the user, and against its password if that was refused last. */
export async function afterRefusal(
  state: UserRefusals | undefined,
  attempt: LoginAttempt,
  refusal: LoginRefusal,
  policy: LoginGuardPolicy,
  now: number,
): Promise<{ state: UserRefusals; record: RefusalRecord }> {
  const previous = state !== undefined && state.refusals > 0 ? state : undefined;
  // Without a verifier on record, the refused password cannot be told apart: count this as the same one.
  const samePassword = previous !== undefined && (previous.verifier === undefined || (await attempt.matches(previous.verifier)));
  const refusals = (previous?.refusals ?? 0) + 1;
  const passwordRefusals = samePassword ? previous.passwordRefusals + 1 : 1;
  const verifier = samePassword && previous.verifier !== undefined ? previous.verifier : await attempt.newVerifier().catch(() => undefined);
  const userStopped = refusals >= policy.maxConsecutiveUserRefusals;
  const pausedForMs = userStopped || passwordRefusals >= policy.maxLoginRefusals ? Number.POSITIVE_INFINITY : backoffAfterRefusal(refusals, policy);
  const next: UserRefusals = {
    refusals,
    passwordRefusals,
    lastRefusal: refusal,
    ...(Number.isFinite(pausedForMs) ? { pausedUntil: now + pausedForMs } : {}),
    ...(verifier === undefined ? {} : { verifier }),
    ...(userStopped ? { userStopped } : {}),
  };
  return { state: next, record: { refusals, pausedForMs } };
}

interface TokenPause {
  refusals: number;
  pausedUntil: number;
  lastRefusal?: LoginRefusal;
}

/** Users or app key pairs remembered at once; more means churn, and the oldest state is dropped. */
const MAX_REMEMBERED = 16;

function remember<T>(map: Map<string, T>, key: string, value: T): void {
  map.delete(key);
  map.set(key, value);
  const oldest = map.keys().next().value;
  if (map.size > MAX_REMEMBERED && oldest !== undefined) map.delete(oldest);
}

const LOCAL_WORDING: GuardWording = { scope: '', userStoppedUntil: USER_STOPPED_UNTIL.local };

/**
 * The guard of one process: no I/O. Every client runs one (it is all a single process needs, since its
 * logins are single-flight already); when a shared guard is configured, that one counts the refusals and
 * this one only takes over the refusals the shared guard could not record.
 */
export class InMemoryLoginGuard implements LoginGuard {
  private readonly users = new Map<string, UserRefusals>();
  private readonly tokenPauses = new Map<string, TokenPause>();
  private readonly policy: LoginGuardPolicy;

  constructor(
    policy: Partial<LoginGuardPolicy> = DEFAULT_LOGIN_GUARD_POLICY,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.policy = loginGuardPolicy(policy);
  }

  /** Throws ThingSpaceError('auth') while token requests of this app key pair (appCredentialsKey) are paused or stopped. */
  assertTokenAllowed(appKey: string): void {
    const pause = this.tokenPauses.get(appKey);
    if (!pause) return;
    const waitMs = pause.pausedUntil - this.now();
    if (waitMs > 0) throw loginsPausedError(waitMs, pause.lastRefusal, '', 'token');
  }

  tokenRefused(appKey: string, refusal: LoginRefusal): RefusalRecord {
    const refusals = (this.tokenPauses.get(appKey)?.refusals ?? 0) + 1;
    const pausedForMs = pauseAfterRefusal(refusals, this.policy);
    remember(this.tokenPauses, appKey, { refusals, pausedUntil: this.now() + pausedForMs, lastRefusal: refusal });
    return { refusals, pausedForMs };
  }

  tokenSucceeded(appKey: string): void {
    this.tokenPauses.delete(appKey);
  }

  async check(attempt: LoginAttempt): Promise<LoginPermit> {
    await assertMayLogIn(this.users.get(attempt.userKey), attempt, this.policy, this.now(), LOCAL_WORDING);
    return { attempt };
  }

  async recordRefusal(permit: LoginPermit, refusal: LoginRefusal): Promise<RefusalRecord> {
    const key = permit.attempt.userKey;
    const { state, record } = await afterRefusal(this.users.get(key), permit.attempt, refusal, this.policy, this.now());
    remember(this.users, key, state);
    return record;
  }

  async recordSuccess(permit: LoginPermit): Promise<void> {
    this.users.delete(permit.attempt.userKey);
  }

  async release(_permit: LoginPermit): Promise<void> {
    // Nothing is held: one process never runs two logins of the same credentials at once.
  }
}
