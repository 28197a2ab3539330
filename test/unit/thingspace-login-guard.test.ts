import { describe, expect, it } from 'vitest';
import { createThingSpaceClient } from '../../adapters/thingspace/client';
import type { ThingSpaceCredentials } from '../../adapters/thingspace/credentials';
import { loginAttempt, userKey, type DeriveVerifier } from '../../adapters/thingspace/login-attempt';
import {
  InMemoryLoginGuard,
  pauseAfterRefusal,
  type LoginAttempt,
  type LoginGuard,
  type LoginPermit,
  type LoginRefusal,
  type RefusalRecord,
} from '../../adapters/thingspace/login-guard';
import { appCredentialsKey, credentialsKey } from '../../adapters/thingspace/session-cache';
import { ThingSpaceError } from '../../domain/thingspace-error';
import { capturingLogger, CREDENTIALS, DEVICE, failureOf, FakeThingSpace, fakeClock, RECORD } from './thingspace-fake';
import { countingScrypt } from '../support/counting-verifier';

const MINUTE = 60_000;
const POLICY = { loginBackoffMs: MINUTE, maxLoginBackoffMs: 4 * MINUTE, maxLoginRefusals: 5, maxConsecutiveUserRefusals: 4 };

const LOGIN_REFUSED = { status: 400, body: { errorCode: 'UnifiedWebService.AUTH.Failed', errorMessage: 'Invalid credentials' } };

/** A guard that records what the client told it, around a real in-memory guard, or fails on demand. */
class RecordingGuard implements LoginGuard {
  readonly calls: string[] = [];
  failCheckWith: unknown;
  failWritesWith: unknown;

  constructor(readonly inner: LoginGuard = new InMemoryLoginGuard(POLICY)) {}

  async check(attempt: LoginAttempt): Promise<LoginPermit> {
    this.calls.push('check');
    if (this.failCheckWith !== undefined) throw this.failCheckWith;
    return this.inner.check(attempt);
  }

  async recordRefusal(permit: LoginPermit, refusal: LoginRefusal): Promise<RefusalRecord> {
    this.calls.push(`refusal ${refusal.status} ${refusal.errorCode ?? '-'}`);
    if (this.failWritesWith !== undefined) throw this.failWritesWith;
    return this.inner.recordRefusal(permit, refusal);
  }

  async recordSuccess(permit: LoginPermit): Promise<void> {
    this.calls.push('success');
    if (this.failWritesWith !== undefined) throw this.failWritesWith;
    return this.inner.recordSuccess(permit);
  }

  async release(permit: LoginPermit): Promise<void> {
    this.calls.push('release');
    return this.inner.release(permit);
  }
}

/** Several clients ("Lambda instances") sharing one guard, each with its own process-local state. */
function instancesSharing(guard: LoginGuard, count: number, deriveVerifier?: DeriveVerifier) {
  const thingspace = new FakeThingSpace();
  const clock = fakeClock();
  const { lines, logger } = capturingLogger();
  const clients = Array.from({ length: count }, () =>
    createThingSpaceClient({
      baseUrl: 'https://thingspace.test',
      credentials: async () => CREDENTIALS,
      fetch: thingspace.fetch,
      now: clock.now,
      sleep: clock.sleep,
      random: () => 0.5,
      maxAttempts: 2,
      baseDelayMs: 10,
      loginGuard: guard,
      logger,
      ...(deriveVerifier ? { deriveVerifier } : {}),
    }),
  );
  return { clients, thingspace, clock, logLines: lines };
}

describe('login pause policy', () => {
  it('doubles the pause from the first refusal, caps it, and stops at maxLoginRefusals', () => {
    // Act
    const pauses = [1, 2, 3, 4, 5, 6].map((refusals) => pauseAfterRefusal(refusals, POLICY));

    // Assess
    expect(pauses).toEqual([MINUTE, 2 * MINUTE, 4 * MINUTE, 4 * MINUTE, Infinity, Infinity]);
  });
});

describe('in-memory login guard', () => {
  const attempt = (password: string, username = 'unit-user') => loginAttempt({ username, password });

  it('pauses only the refused password of the refused user, until the pause ends, and forgets refusals after a success', async () => {
    // Prepare
    const clock = fakeClock();
    const guard = new InMemoryLoginGuard(POLICY, clock.now);
    const refused = await guard.check(attempt('password-a'));
    await guard.recordRefusal(refused, { status: 400, errorCode: 'UnifiedWebService.AUTH.Failed' });

    // Act
    const whilePaused = await guard.check(attempt('password-a')).then(() => undefined, (error: unknown) => error);
    const otherUser = await guard.check(attempt('password-a', 'other-user'));
    const otherPassword = await guard.check(attempt('password-b'));
    clock.time += MINUTE;
    const afterPause = await guard.check(attempt('password-a'));
    await guard.recordSuccess(afterPause);
    const afterSuccess = await guard.recordRefusal(await guard.check(attempt('password-a')), { status: 400 });

    // Assess
    expect(whilePaused).toBeInstanceOf(ThingSpaceError);
    expect((whilePaused as ThingSpaceError).failure).toBe('auth');
    expect((whilePaused as ThingSpaceError).details).toEqual({ status: 400, errorCode: 'UnifiedWebService.AUTH.Failed' });
    expect(otherUser.attempt.userKey).toBe(userKey('other-user'));
    expect(otherPassword.attempt.userKey).toBe(userKey('unit-user'));
    expect(afterSuccess).toEqual({ refusals: 1, pausedForMs: MINUTE });
  });

  it('counts refusals per user across passwords: stops the same password at maxLoginRefusals and every password one short of the lock', async () => {
    // Prepare
    const clock = fakeClock();
    const guard = new InMemoryLoginGuard({ ...POLICY, maxLoginRefusals: 3 }, clock.now);
    const records = [];
    for (let round = 0; round < 3; round += 1) {
      records.push(await guard.recordRefusal(await guard.check(attempt('password-a')), { status: 400 }));
      clock.time += 60 * MINUTE;
    }

    // Act
    const samePassword = await failureOf(guard.check(attempt('password-a')));
    const rotated = await guard.check(attempt('password-b'));
    records.push(await guard.recordRefusal(rotated, { status: 400 }));
    clock.time += 30 * 24 * 60 * MINUTE;
    const afterFour = await Promise.all(['password-a', 'password-b', 'password-c'].map((password) => failureOf(guard.check(attempt(password)))));

    // Assess
    expect(records).toEqual([
      { refusals: 1, pausedForMs: MINUTE },
      { refusals: 2, pausedForMs: 2 * MINUTE },
      { refusals: 3, pausedForMs: Infinity },
      { refusals: 4, pausedForMs: Infinity },
    ]);
    expect(samePassword.message).toContain('until the credentials change');
    for (const stopped of afterFour) expect(stopped.message).toContain('for every password after 4 consecutive refused logins');
  });

  it('never allows a user limit at or above ThingSpace\'s lockout', async () => {
    // Prepare
    const guard = new InMemoryLoginGuard({ ...POLICY, maxLoginRefusals: 10, maxConsecutiveUserRefusals: 9 });
    for (const password of ['a', 'b', 'c', 'd']) await guard.recordRefusal(await guard.check(attempt(password)), { status: 400 });

    // Act
    const fifth = await failureOf(guard.check(attempt('e')));

    // Assess
    expect(fifth.message).toContain('for every password after 4 consecutive refused logins');
  });
});

describe('ThingSpace client with a shared login guard', () => {
  it('asks the shared guard once per login, not per call, and reports the success', async () => {
    // Prepare
    const guard = new RecordingGuard();
    const { clients, thingspace } = instancesSharing(guard, 1);
    const [client] = clients;

    // Act
    await Promise.all(Array.from({ length: 5 }, () => client?.getDeviceHistory(DEVICE)));
    await client?.getDeviceHistory(DEVICE);

    // Assess
    expect(guard.calls).toEqual(['check', 'success']);
    expect(thingspace.count('login')).toBe(1);
  });

  it('keys the shared guard on a fast hash of the username only, never on the password or the app key pair', async () => {
    // Prepare
    const attempts: LoginAttempt[] = [];
    const inner = new InMemoryLoginGuard(POLICY);
    const guard: LoginGuard = {
      check: (attempt) => {
        attempts.push(attempt);
        return inner.check(attempt);
      },
      recordRefusal: (permit, refusal) => inner.recordRefusal(permit, refusal),
      recordSuccess: (permit) => inner.recordSuccess(permit),
      release: (permit) => inner.release(permit),
    };
    const { clients } = instancesSharing(guard, 1);

    // Act
    await clients[0]?.getDeviceHistory(DEVICE);

    // Assess
    const key = attempts[0]?.userKey;
    expect(attempts).toHaveLength(1);
    expect(key).toBe(userKey(CREDENTIALS.username));
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    for (const value of Object.values(CREDENTIALS)) expect(key).not.toContain(value);
    const otherAppPair: ThingSpaceCredentials = { ...CREDENTIALS, appKey: 'other-app-key', appSecret: 'other-app-secret' };
    const otherPassword: ThingSpaceCredentials = { ...CREDENTIALS, password: 'other-password' };
    const otherUser: ThingSpaceCredentials = { ...CREDENTIALS, username: 'other-user' };
    expect(loginAttempt(otherAppPair).userKey).toBe(key);
    expect(loginAttempt(otherPassword).userKey).toBe(key);
    expect(loginAttempt(otherUser).userKey).not.toBe(key);
    expect(key).not.toBe(credentialsKey(CREDENTIALS));
    expect(key).not.toBe(appCredentialsKey(CREDENTIALS));
  });

  it('derives no password verifier for ten instances with good credentials, and only after a refusal', async () => {
    // Prepare
    const { counter, derive } = countingScrypt();
    const guard = new RecordingGuard();
    const { clients, thingspace } = instancesSharing(guard, 10, derive);

    // Act
    const histories = await Promise.all(clients.map((client) => client.getDeviceHistory(DEVICE)));
    const onNormalPath = counter.calls;
    thingspace.fotaReplies.push({ status: 400, body: { errorCode: 'UnifiedWebService.REQUEST_FAILED.SessionToken.Expired', errorMessage: 'The Session has expired.' } });
    thingspace.loginReplies.push(LOGIN_REFUSED);
    await failureOf(clients[0]!.getDeviceHistory(DEVICE));
    const afterRefusal = counter.calls;
    thingspace.fotaReplies.push({ status: 400, body: { errorCode: 'UnifiedWebService.REQUEST_FAILED.SessionToken.Expired', errorMessage: 'The Session has expired.' } });
    const paused = await failureOf(clients[1]!.getDeviceHistory(DEVICE));

    // Assess
    expect(histories).toEqual(clients.map(() => [RECORD]));
    expect(onNormalPath).toBe(0);
    expect(afterRefusal).toBe(1);
    expect(paused.message).toContain('logins are paused');
    expect(counter.calls).toBe(2);
    expect(thingspace.count('login')).toBe(11);
  });

  it('matches a refused password with real scrypt, and tells a different one apart', async () => {
    // Prepare
    const refused = loginAttempt({ username: 'unit-user', password: 'password-a' });
    const verifier = await refused.newVerifier();

    // Act
    const same = await loginAttempt({ username: 'unit-user', password: 'password-a' }).matches(verifier);
    const different = await loginAttempt({ username: 'unit-user', password: 'password-b' }).matches(verifier);

    // Assess
    expect(verifier.salt).toMatch(/^[0-9a-f]{32}$/);
    expect(verifier.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(same).toBe(true);
    expect(different).toBe(false);
  });

  it('lets one refused login on one instance pause the logins of every other instance', async () => {
    // Prepare
    const guard = new RecordingGuard();
    const { clients, thingspace } = instancesSharing(guard, 5);
    thingspace.loginReplies.push(LOGIN_REFUSED, LOGIN_REFUSED, LOGIN_REFUSED);

    // Act
    const failures = [];
    for (const client of clients) failures.push(await failureOf(client.getDeviceHistory(DEVICE)));

    // Assess
    expect(failures.map((failure) => failure.failure)).toEqual(['auth', 'auth', 'auth', 'auth', 'auth']);
    expect(thingspace.count('login')).toBe(1);
    expect(thingspace.count('token')).toBe(1);
    expect(guard.calls.filter((call) => call.startsWith('refusal'))).toEqual(['refusal 400 UnifiedWebService.AUTH.Failed']);
  });

  it('lets the instances try again, one refusal at a time, as the shared pause runs out and doubles', async () => {
    // Prepare
    const guard = new RecordingGuard(new InMemoryLoginGuard({ ...POLICY, maxLoginRefusals: 2 }, () => clock.now()));
    const { clients, thingspace, clock } = instancesSharing(guard, 3);
    thingspace.loginReplies.push(LOGIN_REFUSED, LOGIN_REFUSED, LOGIN_REFUSED);
    const [first, second, third] = clients;

    // Act
    await failureOf(first!.getDeviceHistory(DEVICE));
    clock.time += MINUTE;
    await failureOf(second!.getDeviceHistory(DEVICE));
    clock.time += 24 * 60 * MINUTE;
    const stopped = await failureOf(third!.getDeviceHistory(DEVICE));

    // Assess
    expect(thingspace.count('login')).toBe(2);
    expect(stopped.failure).toBe('auth');
    expect(stopped.message).toContain('until the credentials change');
  });

  it('does not log in at all when the shared guard says no', async () => {
    // Prepare
    const guard = new RecordingGuard();
    guard.failCheckWith = new ThingSpaceError('auth', 'ThingSpace logins are paused on every instance', { status: 400 });
    const { clients, thingspace } = instancesSharing(guard, 1);

    // Act
    const failure = await failureOf(clients[0]!.getDeviceHistory(DEVICE));

    // Assess
    expect(failure.failure).toBe('auth');
    expect(thingspace.seen).toEqual([]);
  });

  it('fails safe, without any request to ThingSpace, when the shared guard itself breaks', async () => {
    // Prepare
    const guard = new RecordingGuard();
    guard.failCheckWith = Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    const { clients, thingspace } = instancesSharing(guard, 1);

    // Act
    const failure = await failureOf(clients[0]!.getDeviceHistory(DEVICE));

    // Assess
    expect(failure.failure).toBe('unavailable');
    expect(thingspace.seen).toEqual([]);
  });

  it('does not count a refused app key pair met during a login against the API user in the shared guard', async () => {
    // Prepare
    const guard = new RecordingGuard();
    const { clients, thingspace } = instancesSharing(guard, 2);
    thingspace.tokenReplies.push({ status: 401, body: { error: 'invalid_client' } });

    // Act
    const first = await failureOf(clients[0]!.getDeviceHistory(DEVICE));
    const pausedHere = await failureOf(clients[0]!.getDeviceHistory(DEVICE));
    const history = await clients[1]!.getDeviceHistory(DEVICE);

    // Assess
    expect(first.details).toEqual({ status: 401, errorCode: 'invalid_client' });
    expect(pausedHere.failure).toBe('auth');
    expect(pausedHere.message).toContain('token requests are paused');
    expect(history).toEqual([RECORD]);
    expect(guard.calls).toEqual(['check', 'release', 'check', 'success']);
    expect(thingspace.count('token')).toBe(2);
    expect(thingspace.count('login')).toBe(1);
  });

  it('keeps every instance from logging in when only the app key pair is rotated after the password was refused', async () => {
    // Prepare
    const guard = new RecordingGuard(new InMemoryLoginGuard({ ...POLICY, maxLoginRefusals: 3 }, () => clock.now()));
    const { clients, thingspace, clock } = instancesSharing(guard, 1);
    thingspace.loginReplies.push(LOGIN_REFUSED, LOGIN_REFUSED, LOGIN_REFUSED);
    for (let round = 0; round < 3; round += 1) {
      await failureOf(clients[0]!.getDeviceHistory(DEVICE));
      clock.time += 60 * MINUTE;
    }
    let current = { ...CREDENTIALS, appKey: 'rotated-app-key', appSecret: 'rotated-app-secret' };
    const cold = createThingSpaceClient({
      baseUrl: 'https://thingspace.test',
      credentials: async () => current,
      fetch: thingspace.fetch,
      now: clock.now,
      sleep: clock.sleep,
      loginGuard: guard,
    });
    const requestsBefore = thingspace.seen.length;

    // Act
    const afterAppRotation = await failureOf(cold.getDeviceHistory(DEVICE));
    const requestsAfterAppRotation = thingspace.seen.length - requestsBefore;
    current = { ...current, password: 'rotated-password' };
    const afterPasswordRotation = await cold.getDeviceHistory(DEVICE);

    // Assess
    expect(afterAppRotation.failure).toBe('auth');
    expect(afterAppRotation.message).toContain('until the credentials change');
    expect(requestsAfterAppRotation).toBe(0);
    expect(afterPasswordRotation).toEqual([RECORD]);
    const passwords = thingspace.requests('login').map((request) => JSON.parse(request.body).password);
    expect(passwords).toEqual([CREDENTIALS.password, CREDENTIALS.password, CREDENTIALS.password, 'rotated-password']);
  });

  it('releases the shared guard when a login ends without a verdict, and retries under a new check', async () => {
    // Prepare
    const guard = new RecordingGuard();
    const { clients, thingspace } = instancesSharing(guard, 1);
    thingspace.loginReplies.push({ status: 503 });

    // Act
    const history = await clients[0]!.getDeviceHistory(DEVICE);

    // Assess
    expect(history).toEqual([RECORD]);
    expect(guard.calls).toEqual(['check', 'release', 'check', 'success']);
    expect(thingspace.count('login')).toBe(2);
  });

  it('keeps a session it got when the shared guard cannot record the success, and still pauses locally when it cannot record a refusal', async () => {
    // Prepare
    const guard = new RecordingGuard();
    guard.failWritesWith = new Error('ProvisionedThroughputExceededException');
    const { clients, thingspace, logLines } = instancesSharing(guard, 1);

    // Act
    const history = await clients[0]!.getDeviceHistory(DEVICE);
    thingspace.fotaReplies.push({ status: 400, body: { errorCode: 'UnifiedWebService.REQUEST_FAILED.SessionToken.Expired', errorMessage: 'The Session has expired.' } });
    thingspace.loginReplies.push(LOGIN_REFUSED);
    const refused = await failureOf(clients[0]!.getDeviceHistory(DEVICE));
    const later = await failureOf(clients[0]!.getDeviceHistory(DEVICE));

    // Assess
    expect(history).toEqual([RECORD]);
    expect(refused.failure).toBe('auth');
    expect(later.failure).toBe('auth');
    expect(thingspace.count('login')).toBe(2);
    expect(logLines.some((line) => line.includes('could not record a refused login'))).toBe(true);
    for (const secret of [CREDENTIALS.password, CREDENTIALS.appSecret]) expect(logLines.join('\n')).not.toContain(secret);
  });
});
