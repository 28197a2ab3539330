import { describe, expect, it } from 'vitest';
import { createThingSpaceClient } from '../../adapters/thingspace/client';
import type { ThingSpaceCredentials } from '../../adapters/thingspace/credentials';
import {
  InMemoryLoginGuard,
  pauseAfterRefusal,
  type LoginGuard,
  type LoginPermit,
  type LoginRefusal,
  type RefusalRecord,
} from '../../adapters/thingspace/login-guard';
import { appCredentialsKey, credentialsKey, loginKey } from '../../adapters/thingspace/session-cache';
import { ThingSpaceError } from '../../domain/thingspace-error';
import { capturingLogger, CREDENTIALS, DEVICE, failureOf, FakeThingSpace, fakeClock, RECORD } from './thingspace-fake';

const MINUTE = 60_000;
const POLICY = { loginBackoffMs: MINUTE, maxLoginBackoffMs: 4 * MINUTE, maxLoginRefusals: 5 };
const LOGIN_REFUSED = { status: 400, body: { errorCode: 'UnifiedWebService.AUTH.Failed', errorMessage: 'Invalid credentials' } };

/** A guard that records what the client told it, around a real in-memory guard, or fails on demand. */
class RecordingGuard implements LoginGuard {
  readonly calls: string[] = [];
  failCheckWith: unknown;
  failWritesWith: unknown;

  constructor(readonly inner: LoginGuard = new InMemoryLoginGuard(POLICY)) {}

  async check(key: string): Promise<LoginPermit> {
    this.calls.push('check');
    if (this.failCheckWith !== undefined) throw this.failCheckWith;
    return this.inner.check(key);
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
function instancesSharing(guard: LoginGuard, count: number) {
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
  it('pauses only the refused credentials, until the pause ends, and forgets refusals after a success', async () => {
    // Prepare
    const clock = fakeClock();
    const guard = new InMemoryLoginGuard(POLICY, clock.now);
    const refused = await guard.check('key-a');
    await guard.recordRefusal(refused, { status: 400, errorCode: 'UnifiedWebService.AUTH.Failed' });

    // Act
    const whilePaused = await guard.check('key-a').then(() => undefined, (error: unknown) => error);
    const otherCredentials = await guard.check('key-b');
    clock.time += MINUTE;
    const afterPause = await guard.check('key-a');
    await guard.recordSuccess(afterPause);
    const afterSuccess = await guard.recordRefusal(await guard.check('key-a'), { status: 400 });

    // Assess
    expect(whilePaused).toBeInstanceOf(ThingSpaceError);
    expect((whilePaused as ThingSpaceError).failure).toBe('auth');
    expect((whilePaused as ThingSpaceError).details).toEqual({ status: 400, errorCode: 'UnifiedWebService.AUTH.Failed' });
    expect(otherCredentials.credentialsKey).toBe('key-b');
    expect(afterSuccess).toEqual({ refusals: 1, pausedForMs: MINUTE });
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

  it('keys the shared guard on a hash of the API user login only, never on the credentials', async () => {
    // Prepare
    const keys: string[] = [];
    const inner = new InMemoryLoginGuard(POLICY);
    const guard: LoginGuard = {
      check: (key) => {
        keys.push(key);
        return inner.check(key);
      },
      recordRefusal: (permit, refusal) => inner.recordRefusal(permit, refusal),
      recordSuccess: (permit) => inner.recordSuccess(permit),
      release: (permit) => inner.release(permit),
    };
    const { clients } = instancesSharing(guard, 1);

    // Act
    await clients[0]?.getDeviceHistory(DEVICE);

    // Assess
    expect(keys).toEqual([await loginKey(CREDENTIALS)]);
    expect(keys[0]).toMatch(/^[0-9a-f]{64}$/);
    for (const value of Object.values(CREDENTIALS)) expect(keys[0]).not.toContain(value);
    const otherAppPair: ThingSpaceCredentials = { ...CREDENTIALS, appKey: 'other-app-key', appSecret: 'other-app-secret' };
    const otherPassword: ThingSpaceCredentials = { ...CREDENTIALS, password: 'other-password' };
    expect(await loginKey(otherAppPair)).toBe(keys[0]);
    expect(await loginKey(otherPassword)).not.toBe(keys[0]);
    expect(keys[0]).not.toBe(credentialsKey(CREDENTIALS));
    expect(keys[0]).not.toBe(appCredentialsKey(CREDENTIALS));
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
