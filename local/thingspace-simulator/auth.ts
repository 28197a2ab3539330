/** The OAuth token and M2M session rules of ThingSpace, including the five-failure lockout. */
import { randomBytes } from 'node:crypto';
import type { ThingSpaceCredentials } from '../../adapters/thingspace/credentials';

/** ThingSpace locks the API user after this many consecutive refused logins. */
const LOGINS_BEFORE_LOCK = 5;

export type BearerCheck = 'ok' | 'missing' | 'invalid';
export type SessionCheck = 'ok' | 'missing' | 'expired';
export type LoginResult = { sessionToken: string } | { refused: 'bad-credentials' | 'locked' };

interface Session {
  lastUsedAt: number;
  expired: boolean;
}

function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export class SimulatedAuth {
  private currentToken: { value: string; expiresAt: number } | undefined;
  private readonly validTokens = new Map<string, number>();
  private readonly sessions = new Map<string, Session>();
  /** Every access and session token ever handed out, so tests can search logs for them. */
  readonly issued: string[] = [];
  tokenRequests = 0;
  tokensIssued = 0;
  loginRequests = 0;
  loginsOk = 0;
  loginsFailed = 0;
  consecutiveFailedLogins = 0;
  logouts = 0;

  constructor(
    private credentials: ThingSpaceCredentials,
    private readonly tokenTtlMs: number,
    private readonly sessionIdleMs: number,
    private readonly now: () => number,
  ) {}

  get userLocked(): boolean {
    return this.consecutiveFailedLogins >= LOGINS_BEFORE_LOCK;
  }

  setCredentials(credentials: ThingSpaceCredentials): void {
    this.credentials = credentials;
  }

  /** Like ThingSpace: asking again while the token lives returns the same token. */
  issueToken(appKey: string, appSecret: string): { accessToken: string; expiresInSeconds: number } | undefined {
    this.tokenRequests += 1;
    if (appKey !== this.credentials.appKey || appSecret !== this.credentials.appSecret) return undefined;
    const now = this.now();
    if (!this.currentToken || this.currentToken.expiresAt <= now) {
      this.currentToken = { value: newToken(), expiresAt: now + this.tokenTtlMs };
      this.issued.push(this.currentToken.value);
      this.validTokens.set(this.currentToken.value, this.currentToken.expiresAt);
      this.tokensIssued += 1;
    }
    return {
      accessToken: this.currentToken.value,
      expiresInSeconds: Math.max(1, Math.round((this.currentToken.expiresAt - now) / 1000)),
    };
  }

  checkBearer(authorization: string | undefined): BearerCheck {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match?.[1]) return 'missing';
    const expiresAt = this.validTokens.get(match[1]);
    return expiresAt !== undefined && expiresAt > this.now() ? 'ok' : 'invalid';
  }

  login(username: string, password: string): LoginResult {
    const isApiUser = username === this.credentials.username;
    if (isApiUser && this.userLocked) {
      this.loginsFailed += 1;
      return { refused: 'locked' };
    }
    if (!isApiUser || password !== this.credentials.password) {
      this.loginsFailed += 1;
      if (isApiUser) this.consecutiveFailedLogins += 1;
      return { refused: 'bad-credentials' };
    }
    this.loginsOk += 1;
    this.consecutiveFailedLogins = 0;
    const sessionToken = newToken();
    this.issued.push(sessionToken);
    this.sessions.set(sessionToken, { lastUsedAt: this.now(), expired: false });
    return { sessionToken };
  }

  /** Using a live session keeps it alive: the expiry is on inactivity. */
  useSession(sessionToken: string | undefined): SessionCheck {
    if (!sessionToken) return 'missing';
    const session = this.sessions.get(sessionToken);
    const now = this.now();
    if (!session || session.expired || now - session.lastUsedAt > this.sessionIdleMs) return 'expired';
    session.lastUsedAt = now;
    return 'ok';
  }

  logout(sessionToken: string | undefined): boolean {
    if (!sessionToken || !this.sessions.delete(sessionToken)) return false;
    this.logouts += 1;
    return true;
  }

  expireTokens(): void {
    this.validTokens.clear();
    this.currentToken = undefined;
  }

  expireSessions(): void {
    for (const session of this.sessions.values()) session.expired = true;
  }

  unlockUser(): void {
    this.consecutiveFailedLogins = 0;
  }

  resetCounters(): void {
    this.tokenRequests = 0;
    this.tokensIssued = 0;
    this.loginRequests = 0;
    this.loginsOk = 0;
    this.loginsFailed = 0;
    this.logouts = 0;
  }
}
