import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { ThingSpaceCredentials } from './credentials';
import type { LoginAttempt, PasswordVerifier } from './login-guard';

/**
 * Derives a verifier hash of `secret` under `salt` (hex in, bytes out). The default is scrypt; tests inject
 * a counting one. Only ever called when a guard has a refusal on record, or records one.
 */
export type DeriveVerifier = (secret: string, salt: string) => Promise<Buffer>;

/** About 16 MiB and 30-40 ms of CPU, on libuv's thread pool, not the event loop. */
const VERIFIER_SCRYPT = { N: 2 ** 14, r: 8, p: 1 } as const;
const VERIFIER_BYTES = 32;
const SALT_BYTES = 16;

export const scryptVerifier: DeriveVerifier = (secret, salt) =>
  new Promise((resolve, reject) => {
    scrypt(secret, Buffer.from(salt, 'hex'), VERIFIER_BYTES, VERIFIER_SCRYPT, (error, key) => (error ? reject(error) : resolve(key)));
  });

/**
 * Names the UWS API user without revealing anything secret: ThingSpace locks the user, whatever passwords
 * were tried, so every login guard counts refusals under this key. A username is not a secret; the hash
 * only keeps the key uniform. It is fast: deriving it costs nothing on cold start.
 */
export function userKey(username: string): string {
  return createHash('sha256').update(JSON.stringify(['uws-user', username])).digest('hex');
}

/** Derivations remembered per attempt: a few refused passwords' salts at most. */
const MAX_REMEMBERED_SALTS = 4;

/**
 * The LoginAttempt of one set of credentials. The password stays in this closure; the guards only get
 * yes/no answers and verifiers (scrypt of username and password under a random salt). Every derivation is
 * memoised per salt, and one fresh salt serves every refusal this attempt records, so a process derives
 * at most once per refused password it meets, and never while no refusal is on record.
 */
export function loginAttempt(credentials: Pick<ThingSpaceCredentials, 'username' | 'password'>, derive: DeriveVerifier = scryptVerifier): LoginAttempt {
  const secret = JSON.stringify([credentials.username, credentials.password]);
  const derived = new Map<string, Promise<Buffer>>();
  const hashUnder = (salt: string): Promise<Buffer> => {
    let hash = derived.get(salt);
    if (hash === undefined) {
      hash = derive(secret, salt);
      // A failed derivation is not remembered: the next check tries again.
      hash.catch(() => derived.delete(salt));
      derived.set(salt, hash);
      const oldest = derived.keys().next().value;
      if (derived.size > MAX_REMEMBERED_SALTS && oldest !== undefined) derived.delete(oldest);
    }
    return hash;
  };
  let fresh: Promise<PasswordVerifier> | undefined;
  return {
    userKey: userKey(credentials.username),
    async matches(verifier) {
      const expected = Buffer.from(verifier.hash, 'hex');
      const actual = await hashUnder(verifier.salt);
      return expected.length === actual.length && timingSafeEqual(expected, actual);
    },
    newVerifier() {
      fresh ??= (async () => {
        const salt = randomBytes(SALT_BYTES).toString('hex');
        return { salt, hash: (await hashUnder(salt)).toString('hex') };
      })();
      fresh.catch(() => {
        fresh = undefined;
      });
      return fresh;
    },
  };
}
