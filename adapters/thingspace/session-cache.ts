import { createHash } from 'node:crypto';
import { CredentialSession, type SessionGuards } from './auth-session';
import type { ThingSpaceCredentials } from './credentials';
import { loginAttempt, type DeriveVerifier } from './login-attempt';
import type { Transport } from './transport';

/** Credentials seen recently; more than this means rotation churn, and the oldest state is dropped. */
const MAX_CACHED_CREDENTIALS = 4;

/**
 * Names one set of credentials without revealing them: a SHA-256 over all four values, so any change
 * (a rotated password or app secret) is a new key. Tokens and sessions are cached per this key; login
 * guards are not keyed on it (see userKey in login-attempt.ts, and appCredentialsKey).
 */
export function credentialsKey(credentials: ThingSpaceCredentials): string {
  return createHash('sha256')
    .update(JSON.stringify([credentials.appKey, credentials.appSecret, credentials.username, credentials.password]))
    .digest('hex');
}

/**
 * Names the app's OAuth key pair (appKey, appSecret) without revealing it, for pauses of token requests
 * the token endpoint refused. Such refusals never lock the user, so they never pause logins. Only this
 * process's guard uses it, so it is never stored.
 */
export function appCredentialsKey(credentials: Pick<ThingSpaceCredentials, 'appKey' | 'appSecret'>): string {
  return createHash('sha256').update(JSON.stringify(['oauth-app', credentials.appKey, credentials.appSecret])).digest('hex');
}

/**
 * Tokens and sessions per set of credentials (keyed by a hash, never by the values), so rotated
 * credentials get their own token and session. Refusals live in the guards, counted per API user and,
 * for token requests, per app key pair.
 */
export class SessionCache {
  private readonly sessions = new Map<string, CredentialSession>();

  constructor(
    private readonly transport: Transport,
    private readonly guards: SessionGuards,
    private readonly deriveVerifier?: DeriveVerifier,
  ) {}

  for(credentials: ThingSpaceCredentials): CredentialSession {
    const key = credentialsKey(credentials);
    let session = this.sessions.get(key);
    if (!session) {
      const guardKeys = { login: loginAttempt(credentials, this.deriveVerifier), app: appCredentialsKey(credentials) };
      session = new CredentialSession(credentials, guardKeys, this.transport, this.guards);
      this.sessions.set(key, session);
      const oldest = this.sessions.keys().next().value;
      if (this.sessions.size > MAX_CACHED_CREDENTIALS && oldest !== undefined) this.sessions.delete(oldest);
    }
    return session;
  }
}
