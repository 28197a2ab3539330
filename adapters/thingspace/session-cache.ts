import { createHash, scrypt } from 'node:crypto';
import { CredentialSession, type SessionGuards } from './auth-session';
import type { ThingSpaceCredentials } from './credentials';
import type { Transport } from './transport';

/** Credentials seen recently; more than this means rotation churn, and the oldest state is dropped. */
const MAX_CACHED_CREDENTIALS = 4;

/**
 * Names one set of credentials without revealing them: a SHA-256 over all four values, so any change
 * (a rotated password or app secret) is a new key. Tokens and sessions are cached per this key; login
 * guards are not keyed on it (see loginKey and appCredentialsKey).
 */
export function credentialsKey(credentials: ThingSpaceCredentials): string {
  return createHash('sha256')
    .update(JSON.stringify([credentials.appKey, credentials.appSecret, credentials.username, credentials.password]))
    .digest('hex');
}

/**
 * scrypt cost: about 16 MiB and 30-40 ms of CPU, once per set of credentials a process sees. It runs on
 * libuv's thread pool, not the event loop, started as soon as the credentials are first seen.
 */
const LOGIN_KEY_SCRYPT = { N: 2 ** 14, r: 8, p: 1 } as const;
const LOGIN_KEY_SALT = 'thingspace-fota-history/login-guard/v2';

/**
 * Names the UWS API user's login (username and password) without revealing it. ThingSpace locks the
 * user, not the app, after five refused logins, so every login guard (local and shared) counts refusals
 * under this key: rotating only the app key or secret must not start the count again. A new password is a
 * new key, and gets a fresh chance. It is stored in the shared guard's table, and without the app secret
 * in its input a plain hash of a password could be guessed offline, so it is a (deliberately slow) scrypt.
 */
export function loginKey(credentials: Pick<ThingSpaceCredentials, 'username' | 'password'>): Promise<string> {
  return new Promise((resolve, reject) => {
    scrypt(JSON.stringify([credentials.username, credentials.password]), LOGIN_KEY_SALT, 32, LOGIN_KEY_SCRYPT, (error, key) =>
      error ? reject(error) : resolve(key.toString('hex')),
    );
  });
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
 * credentials get their own token and session. Pauses after refusals live in the guards, keyed per API
 * user login and per app key pair.
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
      const guardKeys = { login: loginKey(credentials), app: appCredentialsKey(credentials) };
      session = new CredentialSession(credentials, guardKeys, this.transport, this.guards);
      this.sessions.set(key, session);
      const oldest = this.sessions.keys().next().value;
      if (this.sessions.size > MAX_CACHED_CREDENTIALS && oldest !== undefined) this.sessions.delete(oldest);
    }
    return session;
  }
}
