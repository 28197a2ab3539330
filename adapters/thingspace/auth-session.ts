/**
 * How the ThingSpace client authenticates: the OAuth token and M2M session of each set of credentials,
 * renewed before they expire, every login through the login guard.
 */
import { createHash } from 'node:crypto';
import { ThingSpaceError } from '../../domain/thingspace-error';
import type { Budget } from './budget';
import type { ThingSpaceCredentials } from './credentials';
import { readErrorAnswer } from './error-answers';
import { type Exchange, isTransientStatus } from './exchange';
import type { LoginGuard, LoginPermit } from './login-guard';
import { joinUrl, LOGIN_PATH, TOKEN_PATH } from './paths';
import { loginAnswerSchema, parseAnswer, tokenAnswerSchema } from './schemas';
import { TransientFailure, type Transport } from './transport';

/** ThingSpace's M2M session dies after 20 idle minutes; a margin keeps us from using a dying one. */
const SESSION_IDLE_MS = 20 * 60_000;
const RENEWAL_MARGIN_MS = 60_000;
const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;
/** Credentials seen recently; more than this means rotation churn, and the oldest state is dropped. */
const MAX_CACHED_CREDENTIALS = 4;

export interface AuthHeaders {
  token: string;
  session: string;
}

function renewalMargin(lifetimeMs: number): number {
  return Math.min(RENEWAL_MARGIN_MS, lifetimeMs / 10);
}

/**
 * The OAuth token and the M2M session of one set of credentials. Concurrent callers share one in-flight
 * token request and one in-flight login. Every login goes through the login guard (login-guard.ts): it is
 * recorded before it is sent, and whatever goes wrong with it (refusal, 401, timeout, reset, 5xx) ends the
 * call: a login is never retried inside a request. A token request is not a login and cannot lock the user.
 */
export class CredentialSession {
  private token: { value: string; renewAt: number } | undefined;
  private session: { value: string; lastUsedAt: number } | undefined;
  private tokenInFlight: Promise<string> | undefined;
  private loginInFlight: Promise<string> | undefined;

  constructor(
    private readonly credentials: ThingSpaceCredentials,
    private readonly transport: Transport,
    private readonly guard: LoginGuard,
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

  private currentToken(budget: Budget): Promise<string> {
    if (this.token && this.transport.now() < this.token.renewAt) return Promise.resolve(this.token.value);
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
    const startedAt = this.transport.now();
    const basic = Buffer.from(`${this.credentials.appKey}:${this.credentials.appSecret}`).toString('base64');
    const answer = await this.send(
      budget,
      TOKEN_PATH,
      {
        authorization: `Basic ${basic}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      'grant_type=client_credentials',
    );
    if (answer.status < 200 || answer.status >= 300) {
      const { errorCode } = readErrorAnswer(answer.text);
      this.transport.logger.error('ThingSpace refused the OAuth token request (the app key pair; not a login)', {
        status: answer.status,
        errorCode,
      });
      throw new ThingSpaceError(
        'auth',
        'ThingSpace refused the OAuth token request for the configured credentials',
        details(answer.status, errorCode),
      );
    }
    const token = parseAnswer(answer.text, tokenAnswerSchema, 'token');
    const lifetimeMs = (token.expires_in ?? DEFAULT_TOKEN_LIFETIME_SECONDS) * 1000;
    this.token = { value: token.access_token, renewAt: startedAt + lifetimeMs - renewalMargin(lifetimeMs) };
    this.transport.logger.debug('ThingSpace access token obtained', { expiresInSeconds: lifetimeMs / 1000 });
    return token.access_token;
  }

  /** One login attempt, recorded by the guard before it is sent; its verdict is reported back. */
  private async login(budget: Budget): Promise<string> {
    // The token first: a token request that fails is not a login attempt and must not count as one.
    const token = await this.currentToken(budget);
    const permit = await this.guard.begin(this.credentials, budget).catch((error: unknown) => {
      // The guard's messages name no secret; they tell an operator why no login is tried and what lifts it.
      this.transport.logger.warn('ThingSpace login not attempted', {
        reason: error instanceof Error ? error.message : String(error),
      });
      throw error;
    });
    let result: Exchange;
    try {
      result = await this.transport.send(
        joinUrl(this.transport.baseUrl, LOGIN_PATH),
        {
          method: 'POST',
          headers: { accept: 'application/json', authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ username: this.credentials.username, password: this.credentials.password }),
        },
        budget.attemptTimeoutMs(this.transport.timeoutMs),
      );
    } catch (error) {
      await this.loginFailed(permit, 'not sent (the deadline passed)', {});
      throw error;
    }
    if (result.kind !== 'answer') {
      const timedOut = result.kind === 'timeout';
      await this.loginFailed(permit, timedOut ? 'timed out' : 'network error', {});
      throw new ThingSpaceError(
        timedOut ? 'timeout' : 'unavailable',
        `The ThingSpace login ${timedOut ? 'timed out' : 'failed on the network'}; it counts as an attempt and is not retried in this request`,
      );
    }
    const { errorCode } = result.status >= 300 ? readErrorAnswer(result.text) : {};
    if (result.status === 401) this.invalidateToken({ token, session: '' });
    if (result.status >= 300) {
      await this.loginFailed(
        permit,
        `HTTP ${result.status}${errorCode ? ` ${errorCode}` : ''}`,
        details(result.status, errorCode),
      );
      const failure = isTransientStatus(result.status) ? 'unavailable' : 'auth';
      throw new ThingSpaceError(
        failure,
        `ThingSpace answered the login with HTTP ${result.status}; it counts as a failed attempt`,
        details(result.status, errorCode),
      );
    }
    let sessionToken: string;
    try {
      ({ sessionToken } = parseAnswer(result.text, loginAnswerSchema, 'login'));
    } catch (error) {
      await this.loginFailed(permit, 'malformed answer', {});
      throw error;
    }
    this.session = { value: sessionToken, lastUsedAt: this.transport.now() };
    try {
      if (!(await this.guard.succeeded(permit))) this.verdictNotTaken('succeeded');
    } catch (error) {
      // The session is good; only the reset of the count is lost, which errs on the side of fewer logins.
      this.transport.logger.warn('Could not record a successful ThingSpace login in the login guard', {
        error: errorName(error),
      });
    }
    this.transport.logger.debug('ThingSpace M2M session opened');
    return sessionToken;
  }

  private async loginFailed(
    permit: LoginPermit,
    outcome: string,
    logged: { status?: number; errorCode?: string },
  ): Promise<void> {
    this.transport.logger.error("ThingSpace login failed; the attempt counts towards the API user's limit", {
      outcome,
      ...logged,
      attempts: permit.record.attempts,
    });
    try {
      if (!(await this.guard.failed(permit, outcome))) this.verdictNotTaken('failed');
    } catch (error) {
      // The attempt is already counted and its lease runs out by itself: nothing unsafe is lost.
      this.transport.logger.warn('Could not record a failed ThingSpace login in the login guard', {
        error: errorName(error),
      });
    }
  }

  /** So an operator can tell why a good password still shows attempts in `npm run login-guard -- status`. */
  private verdictNotTaken(verdict: 'succeeded' | 'failed'): void {
    this.transport.logger.warn(
      "The login guard did not take this ThingSpace login's verdict: its record changed meanwhile (an operator's reset, or another attempt after this one's lease ran out); the count there stands",
      { verdict },
    );
  }

  /** Sends a token request; retryable failures become a TransientFailure for the caller's retry loop. */
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
}

/**
 * Tokens and sessions per set of credentials, keyed by a SHA-256 over all four values (never the values),
 * so rotated credentials get their own token and session.
 */
export class SessionCache {
  private readonly sessions = new Map<string, CredentialSession>();

  constructor(
    private readonly transport: Transport,
    private readonly guard: LoginGuard,
  ) {}

  for(credentials: ThingSpaceCredentials): CredentialSession {
    const key = createHash('sha256')
      .update(JSON.stringify([credentials.appKey, credentials.appSecret, credentials.username, credentials.password]))
      .digest('hex');
    let session = this.sessions.get(key);
    if (!session) {
      session = new CredentialSession(credentials, this.transport, this.guard);
      this.sessions.set(key, session);
      const oldest = this.sessions.keys().next().value;
      if (this.sessions.size > MAX_CACHED_CREDENTIALS && oldest !== undefined) this.sessions.delete(oldest);
    }
    return session;
  }
}

function details(status: number, errorCode: string | undefined): { status: number; errorCode?: string } {
  return errorCode === undefined ? { status } : { status, errorCode };
}

/** An error's name only: messages of infrastructure errors are not ours to vouch for. */
function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
