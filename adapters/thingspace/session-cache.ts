import { createHash } from 'node:crypto';
import { CredentialSession, type SessionGuards } from './auth-session';
import type { ThingSpaceCredentials } from './credentials';
import type { Transport } from './transport';

/** Credentials seen recently; more than this means rotation churn, and the oldest state is dropped. */
const MAX_CACHED_CREDENTIALS = 4;

/**
 * Names one set of credentials without revealing them: a SHA-256 over all four values, so any change
 * (a rotated password or app secret) is a new key. Login guards, shared ones included, key on this.
 */
export function credentialsKey(credentials: ThingSpaceCredentials): string {
  return createHash('sha256')
    .update(JSON.stringify([credentials.appKey, credentials.appSecret, credentials.username, credentials.password]))
    .digest('hex');
}

/**
 * Tokens, sessions and login pauses per set of credentials (keyed by a hash, never by the values), so
 * rotated credentials get their own token and session and are not held back by a pause of the old ones.
 */
export class SessionCache {
  private readonly sessions = new Map<string, CredentialSession>();

  constructor(
    private readonly transport: Transport,
    private readonly guards: SessionGuards,
  ) {}

  for(credentials: ThingSpaceCredentials): CredentialSession {
    const key = credentialsKey(credentials);
    let session = this.sessions.get(key);
    if (!session) {
      session = new CredentialSession(credentials, key, this.transport, this.guards);
      this.sessions.set(key, session);
      const oldest = this.sessions.keys().next().value;
      if (this.sessions.size > MAX_CACHED_CREDENTIALS && oldest !== undefined) this.sessions.delete(oldest);
    }
    return session;
  }
}
