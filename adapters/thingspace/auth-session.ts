import { ThingSpaceError } from '../../domain/thingspace-error';
import type { Budget } from './budget';
import type { ThingSpaceCredentials } from './credentials';
import { readErrorAnswer } from './error-answers';
import { isTransientStatus, type Exchange } from './exchange';
import { STOPPED_UNTIL, type InMemoryLoginGuard, type LoginAttempt, type LoginGuard, type LoginPermit, type LoginRefusal, type PausedStep, type RefusalRecord } from './login-guard';
import { joinUrl, LOGIN_PATH, TOKEN_PATH } from './paths';
import { loginAnswerSchema, parseAnswer, tokenAnswerSchema } from './schemas';
import { TransientFailure, type Transport } from './transport';

/** ThingSpace's M2M session dies after 20 idle minutes; a margin keeps us from using a dying one. */
const SESSION_IDLE_MS = 20 * 60_000;
const RENEWAL_MARGIN_MS = 60_000;
const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;

export interface AuthHeaders {
  token: string;
  session: string;
}

/** ThingSpace refused the credentials: the app key pair at the token endpoint (400/401), or the login itself. */
export class CredentialsRefused extends ThingSpaceError {
  constructor(
    message: string,
    readonly refusal: LoginRefusal,
    /** Only a refused login counts towards the user's lockout; a refused token request never does. */
    readonly step: PausedStep,
  ) {
    super('auth', message, refusal.errorCode === undefined ? { status: refusal.status } : { status: refusal.status, errorCode: refusal.errorCode });
  }
}

/**
 * The guards: this process's own, and optionally one shared by every instance. Both count login refusals
 * per API user (LoginAttempt.userKey); with a shared guard, the local one records only the refusals the
 * shared one could not. The local one also keeps token-request pauses under the app key pair's key.
 */
export interface SessionGuards {
  local: InMemoryLoginGuard;
  shared?: LoginGuard;
}

function renewalMargin(lifetimeMs: number): number {
  return Math.min(RENEWAL_MARGIN_MS, lifetimeMs / 10);
}

/** What the guards key on: never the credentials themselves. */
export interface GuardKeys {
  /** The API user (its key is a fast hash of the username) and a way to tell a refused password again. */
  login: LoginAttempt;
  /** The app's (appKey, appSecret): token requests the token endpoint refused, in this process only. */
  app: string;
}

/**
 * The OAuth token and the M2M session of one set of credentials. Concurrent callers share one
 * in-flight token request and one in-flight login. A refused login counts against the API user, whatever
 * the password or app key pair: five consecutive refusals lock the user, and only Verizon support can
 * unlock it. The guards pause the refused password, stop it after a few refusals, and stop every password
 * one refusal short of the lock. The shared guard, when there is one, does so for every instance and lets
 * only one of them try a user not yet known to be good. A refused token request pauses token requests of
 * the same app key pair in this process, and never logins: it cannot lock the user.
 */
export class CredentialSession {
  private token: { value: string; renewAt: number } | undefined;
  private session: { value: string; lastUsedAt: number } | undefined;
  private tokenInFlight: Promise<string> | undefined;
  private loginInFlight: Promise<string> | undefined;

  constructor(
    private readonly credentials: ThingSpaceCredentials,
    private readonly keys: GuardKeys,
    private readonly transport: Transport,
    private readonly guards: SessionGuards,
  ) {}

  /** A live token and session for one API request; using the session keeps it alive. */
  async headers(budget: Budget): Promise<AuthHeaders> {
    const session = await this.currentSession(budget);
    const token = await this.currentToken(budget);
    if (this.session?.value === session) this.session.lastUsedAt = this.transport.now();
    return { token, session };
  }

  /** Forgets the token (and the session used with it) unless a concurrent caller already renewed them. */
  invalidateToken(used: AuthHeaders): void {
    if (this.token?.value === used.token) this.token = undefined;
    this.invalidateSession(used);
  }

  invalidateSession(used: AuthHeaders): void {
    if (this.session?.value === used.session) this.session = undefined;
  }

  private hasFreshToken(): boolean {
    return this.token !== undefined && this.transport.now() < this.token.renewAt;
  }

  private currentToken(budget: Budget): Promise<string> {
    if (this.token && this.hasFreshToken()) return Promise.resolve(this.token.value);
    this.tokenInFlight ??= this.requestToken(budget).finally(() => {
      this.tokenInFlight = undefined;
    });
    return this.tokenInFlight;
  }

  private currentSession(budget: Budget): Promise<string> {
    const session = this.session;
    if (session && this.transport.now() - session.lastUsedAt < SESSION_IDLE_MS - RENEWAL_MARGIN_MS) {
      return Promise.resolve(session.value);
    }
    this.loginInFlight ??= this.login(budget).finally(() => {
      this.loginInFlight = undefined;
    });
    return this.loginInFlight;
  }

  private async requestToken(budget: Budget): Promise<string> {
    this.guards.local.assertTokenAllowed(this.keys.app);
    const startedAt = this.transport.now();
    const basic = Buffer.from(`${this.credentials.appKey}:${this.credentials.appSecret}`).toString('base64');
    const answer = await this.send(budget, TOKEN_PATH, {
      authorization: `Basic ${basic}`,
      'content-type': 'application/x-www-form-urlencoded',
    }, 'grant_type=client_credentials');
    if (answer.status === 400 || answer.status === 401) this.refuseToken(answer.status, answer.text);
    if (answer.status < 200 || answer.status >= 300) {
      throw new ThingSpaceError('auth', `ThingSpace token endpoint answered HTTP ${answer.status}`, { status: answer.status });
    }
    const token = parseAnswer(answer.text, tokenAnswerSchema, 'token');
    const lifetimeMs = (token.expires_in ?? DEFAULT_TOKEN_LIFETIME_SECONDS) * 1000;
    this.token = { value: token.access_token, renewAt: startedAt + lifetimeMs - renewalMargin(lifetimeMs) };
    this.guards.local.tokenSucceeded(this.keys.app);
    this.transport.logger.debug('ThingSpace access token obtained', { expiresInSeconds: lifetimeMs / 1000 });
    return token.access_token;
  }

  /** A login under both guards: the local one first (no I/O), then the shared one, which hears how it ended. */
  private async login(budget: Budget): Promise<string> {
    const attempt = this.keys.login;
    const local = this.guards.local;
    const localPermit = await local.check(attempt);
    // A login that would need a token request this process holds back fails here, before any lease.
    if (!this.hasFreshToken()) local.assertTokenAllowed(this.keys.app);
    const shared = this.guards.shared;
    const permit = shared ? await this.checkShared(shared, attempt, budget) : undefined;
    let session: string;
    try {
      session = await this.openSession(budget);
    } catch (error) {
      // A refused app key pair is no verdict on the user's credentials: it must not pause their logins.
      if (error instanceof CredentialsRefused && error.step === 'login') await this.recordRefusal(localPermit, shared, permit, error.refusal);
      else if (shared && permit) await this.quietly('release', () => shared.release(permit));
      throw error;
    }
    await local.recordSuccess(localPermit);
    if (shared && permit) await this.quietly('record a successful login with', () => shared.recordSuccess(permit));
    return session;
  }

  private async checkShared(shared: LoginGuard, attempt: LoginAttempt, budget: Budget): Promise<LoginPermit> {
    try {
      return await shared.check(attempt, budget);
    } catch (error) {
      if (error instanceof ThingSpaceError) throw error;
      // Fail safe: without the guard's word, no login. A failed request is far better than a locked user.
      throw new ThingSpaceError('unavailable', 'The shared ThingSpace login guard failed; not logging in', {}, { cause: error });
    }
  }

  /**
   * Counts a refused login against the user: in the shared guard when there is one (then every instance
   * pauses, and the local guard stays clear so that clearing the shared item frees this instance too), and
   * in this process's guard otherwise, or when the shared guard could not record it.
   */
  private async recordRefusal(localPermit: LoginPermit, shared: LoginGuard | undefined, permit: LoginPermit | undefined, refusal: LoginRefusal): Promise<void> {
    if (shared && permit) {
      try {
        const record = await shared.recordRefusal(permit, refusal);
        this.logRefusal('ThingSpace refused the API user login; logins paused on every instance', refusal, record);
        return;
      } catch (error) {
        this.transport.logger.error('The shared login guard could not record a refused login; only this instance pauses', {
          error: errorName(error),
        });
      }
    }
    const record = await this.guards.local.recordRefusal(localPermit, refusal);
    this.logRefusal('ThingSpace refused the API user login; logins paused', refusal, record);
  }

  private logRefusal(message: string, refusal: LoginRefusal, record: RefusalRecord): void {
    this.transport.logger.error(message, {
      step: 'login',
      status: refusal.status,
      errorCode: refusal.errorCode,
      refusals: record.refusals,
      pausedForMs: Number.isFinite(record.pausedForMs) ? record.pausedForMs : STOPPED_UNTIL.login,
    });
  }

  /** A guard write whose failure must not turn a finished login into a failed call; it is logged. */
  private async quietly(what: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      this.transport.logger.warn(`Could not ${what} the shared login guard`, { error: errorName(error) });
    }
  }

  private async openSession(budget: Budget): Promise<string> {
    let tokenRenewed = false;
    for (;;) {
      const token = await this.currentToken(budget);
      const body = JSON.stringify({ username: this.credentials.username, password: this.credentials.password });
      const answer = await this.send(budget, LOGIN_PATH, {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
      }, body);
      if (answer.status === 401 && !tokenRenewed) {
        // The gateway refused the token before the login was even checked: not a failed login.
        this.invalidateToken({ token, session: '' });
        tokenRenewed = true;
        this.transport.logger.info('ThingSpace refused the access token at login; renewing it', { status: 401 });
        continue;
      }
      if (answer.status === 401) {
        throw new ThingSpaceError('auth', 'ThingSpace refused a freshly issued access token at login', { status: 401 });
      }
      if (answer.status >= 300) throw new CredentialsRefused('ThingSpace refused the login for the configured credentials', refusalOf(answer.status, answer.text), 'login');
      const { sessionToken } = parseAnswer(answer.text, loginAnswerSchema, 'login');
      this.session = { value: sessionToken, lastUsedAt: this.transport.now() };
      this.transport.logger.debug('ThingSpace M2M session opened');
      return sessionToken;
    }
  }

  /** Sends an auth request; retryable failures become a TransientFailure for the caller's retry loop. */
  private async send(budget: Budget, path: string, headers: Record<string, string>, body: string) {
    const result: Exchange = await this.transport.send(
      joinUrl(this.transport.baseUrl, path),
      { method: 'POST', headers: { accept: 'application/json', ...headers }, body },
      budget.attemptTimeoutMs(this.transport.timeoutMs),
    );
    if (result.kind === 'timeout') throw new TransientFailure(true);
    if (result.kind === 'network') throw new TransientFailure(false);
    if (isTransientStatus(result.status)) throw new TransientFailure(false, result.status, result.retryAfter);
    return result;
  }

  /** Pauses token requests of this app key pair in this process (never logins), and throws the refusal. */
  private refuseToken(status: number, text: string): never {
    const refusal = refusalOf(status, text);
    const { refusals, pausedForMs } = this.guards.local.tokenRefused(this.keys.app, refusal);
    this.transport.logger.error('ThingSpace refused the app key pair; token requests paused (logins are not counted against the user)', {
      step: 'OAuth token request',
      status,
      errorCode: refusal.errorCode,
      refusals,
      pausedForMs: Number.isFinite(pausedForMs) ? pausedForMs : STOPPED_UNTIL.token,
    });
    throw new CredentialsRefused('ThingSpace refused the OAuth token request for the configured credentials', refusal, 'token');
  }
}

/** What ThingSpace said when it refused: its status and error code, never the credentials. */
function refusalOf(status: number, text: string): LoginRefusal {
  const { errorCode } = readErrorAnswer(text);
  return errorCode === undefined ? { status } : { status, errorCode };
}

/** An error's name only: messages of infrastructure errors are not ours to vouch for. */
function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
