import { ThingSpaceError } from '../../domain/thingspace-error';
import type { Budget } from './budget';
import type { ThingSpaceCredentials } from './credentials';
import { readErrorAnswer } from './error-answers';
import { exchange, isTransientStatus, type Exchange } from './exchange';
import { joinUrl, LOGIN_PATH, TOKEN_PATH } from './paths';
import { loginAnswerSchema, parseAnswer, tokenAnswerSchema } from './schemas';
import { TransientFailure, type Transport } from './transport';

/** ThingSpace's M2M session dies after 20 idle minutes; a margin keeps us from using a dying one. */
const SESSION_IDLE_MS = 20 * 60_000;
const RENEWAL_MARGIN_MS = 60_000;
const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;

export interface LoginGuardPolicy {
  /** First pause after a refused login; each further refusal doubles it. */
  loginBackoffMs: number;
  maxLoginBackoffMs: number;
  /** After this many refusals of the same credentials, logins stop until the credentials change. */
  maxLoginRefusals: number;
}

export interface AuthHeaders {
  token: string;
  session: string;
}

function renewalMargin(lifetimeMs: number): number {
  return Math.min(RENEWAL_MARGIN_MS, lifetimeMs / 10);
}

/**
 * The OAuth token and the M2M session of one set of credentials. Concurrent callers share one
 * in-flight token request and one in-flight login. A refused login pauses further logins: five
 * consecutive refusals lock the API user, and only Verizon support can unlock it.
 */
export class CredentialSession {
  private token: { value: string; renewAt: number } | undefined;
  private session: { value: string; lastUsedAt: number } | undefined;
  private tokenInFlight: Promise<string> | undefined;
  private loginInFlight: Promise<string> | undefined;
  private pausedUntil = 0;
  private nextPauseMs: number;
  private refusals = 0;
  private lastRefusal: { status: number; errorCode?: string } | undefined;

  constructor(
    private readonly credentials: ThingSpaceCredentials,
    private readonly transport: Transport,
    private readonly policy: LoginGuardPolicy,
  ) {
    this.nextPauseMs = policy.loginBackoffMs;
  }

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
    this.assertLoginsAllowed();
    const startedAt = this.transport.now();
    const basic = Buffer.from(`${this.credentials.appKey}:${this.credentials.appSecret}`).toString('base64');
    const answer = await this.send(budget, TOKEN_PATH, {
      authorization: `Basic ${basic}`,
      'content-type': 'application/x-www-form-urlencoded',
    }, 'grant_type=client_credentials');
    if (answer.status === 400 || answer.status === 401) this.refuse('OAuth token request', answer.status, answer.text);
    if (answer.status < 200 || answer.status >= 300) {
      throw new ThingSpaceError('auth', `ThingSpace token endpoint answered HTTP ${answer.status}`, { status: answer.status });
    }
    const token = parseAnswer(answer.text, tokenAnswerSchema, 'token');
    const lifetimeMs = (token.expires_in ?? DEFAULT_TOKEN_LIFETIME_SECONDS) * 1000;
    this.token = { value: token.access_token, renewAt: startedAt + lifetimeMs - renewalMargin(lifetimeMs) };
    this.transport.logger.debug('ThingSpace access token obtained', { expiresInSeconds: lifetimeMs / 1000 });
    return token.access_token;
  }

  private async login(budget: Budget): Promise<string> {
    this.assertLoginsAllowed();
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
      if (answer.status >= 300) this.refuse('login', answer.status, answer.text);
      const { sessionToken } = parseAnswer(answer.text, loginAnswerSchema, 'login');
      this.session = { value: sessionToken, lastUsedAt: this.transport.now() };
      this.refusals = 0;
      this.nextPauseMs = this.policy.loginBackoffMs;
      this.transport.logger.debug('ThingSpace M2M session opened');
      return sessionToken;
    }
  }

  /** Sends an auth request; retryable failures become a TransientFailure for the caller's retry loop. */
  private async send(budget: Budget, path: string, headers: Record<string, string>, body: string) {
    const result: Exchange = await exchange(
      this.transport.fetch,
      joinUrl(this.transport.baseUrl, path),
      { method: 'POST', headers: { accept: 'application/json', ...headers }, body },
      budget.attemptTimeoutMs(this.transport.timeoutMs),
    );
    if (result.kind === 'timeout') throw new TransientFailure(true);
    if (result.kind === 'network') throw new TransientFailure(false);
    if (isTransientStatus(result.status)) throw new TransientFailure(false, result.status, result.retryAfter);
    return result;
  }

  private assertLoginsAllowed(): void {
    const waitMs = this.pausedUntil - this.transport.now();
    if (waitMs <= 0) return;
    const until = Number.isFinite(waitMs) ? `for another ${Math.ceil(waitMs / 1000)} s` : 'until the credentials change';
    throw new ThingSpaceError(
      'auth',
      `ThingSpace logins are paused ${until} after a refused login, to keep the API user from being locked`,
      { ...this.lastRefusal },
    );
  }

  private refuse(what: string, status: number, text: string): never {
    const { errorCode } = readErrorAnswer(text);
    this.refusals += 1;
    const pauseMs = this.refusals >= this.policy.maxLoginRefusals ? Number.POSITIVE_INFINITY : this.nextPauseMs;
    this.pausedUntil = this.transport.now() + pauseMs;
    this.nextPauseMs = Math.min(this.nextPauseMs * 2, this.policy.maxLoginBackoffMs);
    this.lastRefusal = { status, errorCode };
    this.transport.logger.error('ThingSpace refused the service credentials; logins paused', {
      step: what,
      status,
      errorCode,
      refusals: this.refusals,
      pausedForMs: Number.isFinite(pauseMs) ? pauseMs : 'until the credentials change',
    });
    throw new ThingSpaceError('auth', `ThingSpace refused the ${what} for the configured credentials`, { status, errorCode });
  }
}
