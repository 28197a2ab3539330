import { ThingSpaceError } from '../../domain/thingspace-error';
import type { Budget } from './budget';
import type { ThingSpaceCredentials } from './credentials';
import { readErrorAnswer } from './error-answers';
import { isTransientStatus, type Exchange } from './exchange';
import { STOPPED_UNTIL, type InMemoryLoginGuard, type LoginGuard, type LoginPermit, type LoginRefusal, type PausedStep } from './login-guard';
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
 * The guards: this process's own, and optionally one shared by every instance. The local one keeps
 * login pauses under the login key and token-request pauses under the app key pair's key; the shared one
 * sees logins only, under the login key.
 */
export interface SessionGuards {
  local: InMemoryLoginGuard;
  shared?: LoginGuard;
}

function renewalMargin(lifetimeMs: number): number {
  return Math.min(RENEWAL_MARGIN_MS, lifetimeMs / 10);
}

/** What the guards key on, both hashes (session-cache.ts): never the credentials themselves. */
export interface GuardKeys {
  /** The API user's (username, password): logins, locally and in the shared guard. Slow to derive. */
  login: Promise<string>;
  /** The app's (appKey, appSecret): token requests the token endpoint refused, in this process only. */
  app: string;
}

/**
 * The OAuth token and the M2M session of one set of credentials. Concurrent callers share one
 * in-flight token request and one in-flight login. A refused login pauses further logins of the same
 * user credentials, whatever the app key pair: five consecutive refusals lock the API user, and only
 * Verizon support can unlock it. The process's own guard pauses this instance; the shared guard, when
 * there is one, pauses every instance and lets only one of them try user credentials not yet known to be
 * good. A refused token request pauses token requests of the same app key pair in this process, and
 * never logins: it says nothing about the user's password and cannot lock the user.
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
    this.guards.local.assertAllowed(this.keys.app, 'token');
    const startedAt = this.transport.now();
    const basic = Buffer.from(`${this.credentials.appKey}:${this.credentials.appSecret}`).toString('base64');
    const answer = await this.send(budget, TOKEN_PATH, {
      authorization: `Basic ${basic}`,
      'content-type': 'application/x-www-form-urlencoded',
    }, 'grant_type=client_credentials');
    if (answer.status === 400 || answer.status === 401) this.refuse('token', this.keys.app, answer.status, answer.text);
    if (answer.status < 200 || answer.status >= 300) {
      throw new ThingSpaceError('auth', `ThingSpace token endpoint answered HTTP ${answer.status}`, { status: answer.status });
    }
    const token = parseAnswer(answer.text, tokenAnswerSchema, 'token');
    const lifetimeMs = (token.expires_in ?? DEFAULT_TOKEN_LIFETIME_SECONDS) * 1000;
    this.token = { value: token.access_token, renewAt: startedAt + lifetimeMs - renewalMargin(lifetimeMs) };
    this.guards.local.succeeded(this.keys.app);
    this.transport.logger.debug('ThingSpace access token obtained', { expiresInSeconds: lifetimeMs / 1000 });
    return token.access_token;
  }

  /** A login under both guards: the shared one decides first, and hears how it ended. */
  private async login(budget: Budget): Promise<string> {
    // Derived on the thread pool since the credentials were first seen; awaited only by a login.
    const loginKey = await this.keys.login;
    this.guards.local.assertAllowed(loginKey, 'login');
    // A login that would need a token request this process holds back fails here, before any lease.
    if (!this.hasFreshToken()) this.guards.local.assertAllowed(this.keys.app, 'token');
    const shared = this.guards.shared;
    if (!shared) return this.openSession(budget, loginKey);
    const permit = await this.checkShared(shared, loginKey, budget);
    let session: string;
    try {
      session = await this.openSession(budget, loginKey);
    } catch (error) {
      // A refused app key pair is no verdict on the user's credentials: it must not pause their logins.
      if (error instanceof CredentialsRefused && error.step === 'login') await this.recordSharedRefusal(shared, permit, error.refusal);
      else await this.quietly('release', () => shared.release(permit));
      throw error;
    }
    await this.quietly('record a successful login with', () => shared.recordSuccess(permit));
    return session;
  }

  private async checkShared(shared: LoginGuard, loginKey: string, budget: Budget): Promise<LoginPermit> {
    try {
      return await shared.check(loginKey, budget);
    } catch (error) {
      if (error instanceof ThingSpaceError) throw error;
      // Fail safe: without the guard's word, no login. A failed request is far better than a locked user.
      throw new ThingSpaceError('unavailable', 'The shared ThingSpace login guard failed; not logging in', {}, { cause: error });
    }
  }

  private async recordSharedRefusal(shared: LoginGuard, permit: LoginPermit, refusal: LoginRefusal): Promise<void> {
    try {
      const record = await shared.recordRefusal(permit, refusal);
      this.transport.logger.error('ThingSpace logins paused on every instance', {
        status: refusal.status,
        errorCode: refusal.errorCode,
        refusals: record.refusals,
        pausedForMs: Number.isFinite(record.pausedForMs) ? record.pausedForMs : STOPPED_UNTIL.login,
      });
    } catch (error) {
      this.transport.logger.error('The shared login guard could not record a refused login; only this instance pauses', {
        error: errorName(error),
      });
    }
  }

  /** A guard write whose failure must not turn a finished login into a failed call; it is logged. */
  private async quietly(what: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      this.transport.logger.warn(`Could not ${what} the shared login guard`, { error: errorName(error) });
    }
  }

  private async openSession(budget: Budget, loginKey: string): Promise<string> {
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
      if (answer.status >= 300) this.refuse('login', loginKey, answer.status, answer.text);
      const { sessionToken } = parseAnswer(answer.text, loginAnswerSchema, 'login');
      this.session = { value: sessionToken, lastUsedAt: this.transport.now() };
      this.guards.local.succeeded(loginKey);
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

  /** Records a refusal in this process's guard, under the key of what was refused, and throws it. */
  private refuse(step: PausedStep, key: string, status: number, text: string): never {
    const { errorCode } = readErrorAnswer(text);
    const refusal: LoginRefusal = errorCode === undefined ? { status } : { status, errorCode };
    const { refusals, pausedForMs } = this.guards.local.refused(key, refusal);
    this.transport.logger.error(
      step === 'login'
        ? 'ThingSpace refused the API user login; logins paused'
        : 'ThingSpace refused the app key pair; token requests paused (logins are not counted against the user)',
      {
        step: step === 'login' ? 'login' : 'OAuth token request',
        status,
        errorCode,
        refusals,
        pausedForMs: Number.isFinite(pausedForMs) ? pausedForMs : STOPPED_UNTIL[step],
      },
    );
    const what = step === 'login' ? 'login' : 'OAuth token request';
    throw new CredentialsRefused(`ThingSpace refused the ${what} for the configured credentials`, refusal, step);
  }
}

/** An error's name only: messages of infrastructure errors are not ours to vouch for. */
function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
