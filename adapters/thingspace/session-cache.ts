import { createHash } from 'node:crypto';
import { CredentialSession, type LoginGuardPolicy } from './auth-session';
import type { ThingSpaceCredentials } from './credentials';
import type { Transport } from './transport';

/** Credentials seen recently; more than this means rotation churn, and the oldest state is dropped. */
const MAX_CACHED_CREDENTIALS = 4;

function credentialsKey(credentials: ThingSpaceCredentials): string {
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
    private readonly policy: LoginGuardPolicy,
  ) {}

  for(credentials: ThingSpaceCredentials): CredentialSession {
    const key = credentialsKey(credentials);
    let session = this.sessions.get(key);
    if (!session) {
      session = new CredentialSession(credentials, this.transport, this.policy);
      this.sessions.set(key, session);
      const oldest = this.sessions.keys().next().value;
      if (this.sessions.size > MAX_CACHED_CREDENTIALS && oldest !== undefined) this.sessions.delete(oldest);
    }
    return session;
  }
}
