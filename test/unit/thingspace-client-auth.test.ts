import { describe, expect, it } from 'vitest';
import { createThingSpaceClient } from '../../adapters/thingspace/client';
import type { ThingSpaceCredentials } from '../../adapters/thingspace/credentials';
import { clientAgainstFake, CREDENTIALS, DEVICE, failureOf, FakeThingSpace, fakeClock, RECORD } from './thingspace-fake';

const SESSION_EXPIRED = {
  status: 400,
  body: {
    errorCode: 'UnifiedWebService.REQUEST_FAILED.SessionToken.Expired',
    errorMessage: 'The Session has expired.',
  },
};
const LOGIN_REFUSED = { status: 400, body: { errorCode: 'UnifiedWebService.AUTH.Failed', errorMessage: 'Invalid credentials' } };
const MINUTE = 60_000;

describe('ThingSpace client tokens and sessions', () => {
  it('sends both tokens on FOTA calls and reuses them across calls', async () => {
    // Prepare
    const { client, thingspace } = clientAgainstFake();

    // Act
    for (let call = 0; call < 5; call += 1) await client.getDeviceHistory(DEVICE);

    // Assess
    expect(thingspace.count('token')).toBe(1);
    expect(thingspace.count('login')).toBe(1);
    const fota = thingspace.requests('fota');
    expect(fota).toHaveLength(5);
    expect(fota[0]?.headers.authorization).toBe('Bearer token-1');
    expect(fota[0]?.headers['vz-m2m-token']).toBe('session-2');
  });

  it('gets the token with the app key pair and logs in with the API user', async () => {
    // Prepare
    const { client, thingspace } = clientAgainstFake();

    // Act
    await client.getDeviceHistory(DEVICE);

    // Assess
    const [token] = thingspace.requests('token');
    expect(token?.headers.authorization).toBe(`Basic ${Buffer.from('unit-app-key:unit-app-secret-VALUE').toString('base64')}`);
    expect(token?.body).toBe('grant_type=client_credentials');
    const [login] = thingspace.requests('login');
    expect(login?.headers.authorization).toBe('Bearer token-1');
    expect(JSON.parse(login?.body ?? '')).toEqual({ username: 'unit-user', password: 'unit-password-VALUE' });
  });

  it('shares one token request and one login among 30 concurrent first calls', async () => {
    // Prepare
    const { client, thingspace } = clientAgainstFake();
    let openGate = () => {};
    thingspace.tokenGate = new Promise((resolve) => {
      openGate = resolve;
    });

    // Act
    const calls = Array.from({ length: 30 }, () => client.getDeviceHistory(DEVICE));
    openGate();
    const histories = await Promise.all(calls);

    // Assess
    expect(histories.every((history) => history.length === 1)).toBe(true);
    expect(thingspace.count('token')).toBe(1);
    expect(thingspace.count('login')).toBe(1);
  });

  it('renews the token shortly before it expires', async () => {
    // Prepare
    const { client, thingspace, clock } = clientAgainstFake();
    await client.getDeviceHistory(DEVICE);

    // Act
    clock.time += 59 * MINUTE + 30_000;
    await client.getDeviceHistory(DEVICE);

    // Assess
    expect(thingspace.count('token')).toBe(2);
  });

  it('keeps a session that is used, and logs in again before an idle one expires', async () => {
    // Prepare
    const { client, thingspace, clock } = clientAgainstFake();
    await client.getDeviceHistory(DEVICE);

    // Act
    clock.time += 10 * MINUTE;
    await client.getDeviceHistory(DEVICE);
    const loginsWhileUsed = thingspace.count('login');
    clock.time += 19 * MINUTE + 30_000;
    await client.getDeviceHistory(DEVICE);

    // Assess
    expect(loginsWhileUsed).toBe(1);
    expect(thingspace.count('login')).toBe(2);
  });

  it('renews the token once and retries once when a FOTA call gets 401', async () => {
    // Prepare
    const { client, thingspace } = clientAgainstFake();
    thingspace.fotaReplies.push({ status: 401, body: { fault: { code: '900901', message: 'Invalid Credentials' } } });

    // Act
    const history = await client.getDeviceHistory(DEVICE);

    // Assess
    expect(history).toEqual([RECORD]);
    expect(thingspace.count('token')).toBe(2);
    expect(thingspace.requests('fota').map((request) => request.headers.authorization)).toEqual([
      'Bearer token-1',
      'Bearer token-3',
    ]);
  });

  it('fails as auth when the renewed token is refused too', async () => {
    // Prepare
    const { client, thingspace } = clientAgainstFake();
    thingspace.fotaDefault = { status: 401, body: { fault: { code: '900901', message: 'Invalid Credentials' } } };

    // Act
    const failure = await failureOf(client.getDeviceHistory(DEVICE));

    // Assess
    expect(failure.failure).toBe('auth');
    expect(failure.details).toMatchObject({ status: 401, errorCode: '900901' });
    expect(thingspace.count('fota')).toBe(2);
  });

  it('logs in again once and retries once when the session has expired', async () => {
    // Prepare
    const { client, thingspace } = clientAgainstFake();
    thingspace.fotaReplies.push(SESSION_EXPIRED);

    // Act
    const history = await client.getDeviceHistory(DEVICE);

    // Assess
    expect(history).toEqual([RECORD]);
    expect(thingspace.count('login')).toBe(2);
    expect(thingspace.count('token')).toBe(1);
    expect(thingspace.count('fota')).toBe(2);
  });

  it('recognises an expired session by its message when the code differs', async () => {
    // Prepare
    const { client, thingspace } = clientAgainstFake();
    thingspace.fotaReplies.push({ status: 400, body: { errorCode: 'SOMETHING.ELSE', errorMessage: 'The Session has expired.' } });

    // Act
    await client.getDeviceHistory(DEVICE);

    // Assess
    expect(thingspace.count('login')).toBe(2);
  });

  it('fails as auth when a fresh session is reported expired again', async () => {
    // Prepare
    const { client, thingspace } = clientAgainstFake();
    thingspace.fotaDefault = SESSION_EXPIRED;

    // Act
    const failure = await failureOf(client.getDeviceHistory(DEVICE));

    // Assess
    expect(failure.failure).toBe('auth');
    expect(thingspace.count('login')).toBe(2);
  });

  it('renews the token when the login itself is refused with 401, without counting a failed login', async () => {
    // Prepare
    const { client, thingspace } = clientAgainstFake();
    thingspace.loginReplies.push({ status: 401, body: { fault: { code: '900901', message: 'Invalid Credentials' } } });

    // Act
    const history = await client.getDeviceHistory(DEVICE);

    // Assess
    expect(history).toEqual([RECORD]);
    expect(thingspace.count('token')).toBe(2);
    expect(thingspace.count('login')).toBe(2);
  });
});

describe('ThingSpace client lockout guard', () => {
  it('never retries a refused login and fails later calls fast without calling ThingSpace', async () => {
    // Prepare
    const { client, thingspace } = clientAgainstFake();
    thingspace.loginReplies.push(LOGIN_REFUSED);

    // Act
    const first = await failureOf(client.getDeviceHistory(DEVICE));
    const later = [];
    for (let call = 0; call < 10; call += 1) later.push(await failureOf(client.getDeviceHistory(DEVICE)));

    // Assess
    expect(first.failure).toBe('auth');
    expect(first.details).toEqual({ status: 400, errorCode: 'UnifiedWebService.AUTH.Failed' });
    expect(later.every((failure) => failure.failure === 'auth')).toBe(true);
    expect(thingspace.count('login')).toBe(1);
    expect(thingspace.count('fota')).toBe(0);
  });

  it('lets 30 concurrent calls cause a single refused login', async () => {
    // Prepare
    const { client, thingspace } = clientAgainstFake();
    thingspace.loginReplies.push(LOGIN_REFUSED);

    // Act
    const failures = await Promise.all(Array.from({ length: 30 }, () => failureOf(client.getDeviceHistory(DEVICE))));

    // Assess
    expect(failures.every((failure) => failure.failure === 'auth')).toBe(true);
    expect(thingspace.count('login')).toBe(1);
  });

  it('tries again after the pause, doubling the pause after another refusal', async () => {
    // Prepare
    const { client, thingspace, clock } = clientAgainstFake({ loginBackoffMs: MINUTE, maxLoginRefusals: 5 });
    thingspace.loginReplies.push(LOGIN_REFUSED, LOGIN_REFUSED);
    await failureOf(client.getDeviceHistory(DEVICE));

    // Act
    clock.time += MINUTE;
    await failureOf(client.getDeviceHistory(DEVICE));
    const loginsAfterFirstPause = thingspace.count('login');
    clock.time += MINUTE;
    await failureOf(client.getDeviceHistory(DEVICE));
    const loginsOneMinuteIntoSecondPause = thingspace.count('login');
    clock.time += MINUTE;
    const history = await client.getDeviceHistory(DEVICE);

    // Assess
    expect(loginsAfterFirstPause).toBe(2);
    expect(loginsOneMinuteIntoSecondPause).toBe(2);
    expect(history).toEqual([RECORD]);
    expect(thingspace.count('login')).toBe(3);
  });

  it('stops logging in with credentials refused maxLoginRefusals times', async () => {
    // Prepare
    const { client, thingspace, clock } = clientAgainstFake({ loginBackoffMs: MINUTE, maxLoginRefusals: 2 });
    thingspace.loginReplies.push(LOGIN_REFUSED, LOGIN_REFUSED);
    await failureOf(client.getDeviceHistory(DEVICE));
    clock.time += MINUTE;
    await failureOf(client.getDeviceHistory(DEVICE));

    // Act
    clock.time += 24 * 60 * MINUTE;
    const failure = await failureOf(client.getDeviceHistory(DEVICE));

    // Assess
    expect(failure.failure).toBe('auth');
    expect(thingspace.count('login')).toBe(2);
  });

  it('treats a refused app key pair like a refused login', async () => {
    // Prepare
    const { client, thingspace } = clientAgainstFake();
    thingspace.tokenReplies.push({ status: 401, body: { error: 'invalid_client', error_description: 'Client Authentication failed.' } });

    // Act
    const first = await failureOf(client.getDeviceHistory(DEVICE));
    const second = await failureOf(client.getDeviceHistory(DEVICE));

    // Assess
    expect(first.failure).toBe('auth');
    expect(first.details).toEqual({ status: 401, errorCode: 'invalid_client' });
    expect(second.failure).toBe('auth');
    expect(thingspace.count('token')).toBe(1);
  });

  it('does not hold rotated credentials back by the pause of the refused ones', async () => {
    // Prepare
    const thingspace = new FakeThingSpace();
    const clock = fakeClock();
    let current: ThingSpaceCredentials = CREDENTIALS;
    const client = createThingSpaceClient({
      baseUrl: 'https://thingspace.test',
      credentials: async () => current,
      fetch: thingspace.fetch,
      now: clock.now,
      sleep: clock.sleep,
    });
    thingspace.loginReplies.push(LOGIN_REFUSED);
    await failureOf(client.getDeviceHistory(DEVICE));

    // Act
    current = { ...CREDENTIALS, password: 'rotated-password' };
    const history = await client.getDeviceHistory(DEVICE);

    // Assess
    expect(history).toEqual([RECORD]);
    const logins = thingspace.requests('login').map((request) => JSON.parse(request.body).password);
    expect(logins).toEqual([CREDENTIALS.password, 'rotated-password']);
  });

  it('does not log in again when only the app key pair is rotated after the password was refused, and does when the password is', async () => {
    // Prepare
    const thingspace = new FakeThingSpace();
    const clock = fakeClock();
    let current: ThingSpaceCredentials = CREDENTIALS;
    const client = createThingSpaceClient({
      baseUrl: 'https://thingspace.test',
      credentials: async () => current,
      fetch: thingspace.fetch,
      now: clock.now,
      sleep: clock.sleep,
      loginBackoffMs: MINUTE,
      maxLoginRefusals: 3,
    });
    thingspace.loginReplies.push(LOGIN_REFUSED, LOGIN_REFUSED, LOGIN_REFUSED);
    for (let round = 0; round < 3; round += 1) {
      await failureOf(client.getDeviceHistory(DEVICE));
      clock.time += 60 * MINUTE;
    }
    const loginsWhileWrong = thingspace.count('login');
    const requestsBefore = thingspace.seen.length;

    // Act
    current = { ...CREDENTIALS, appKey: 'rotated-app-key', appSecret: 'rotated-app-secret' };
    const afterAppRotation = [];
    for (let round = 0; round < 3; round += 1) {
      afterAppRotation.push(await failureOf(client.getDeviceHistory(DEVICE)));
      clock.time += 24 * 60 * MINUTE;
    }
    const requestsAfterAppRotation = thingspace.seen.length - requestsBefore;
    current = { ...current, password: 'rotated-password' };
    const history = await client.getDeviceHistory(DEVICE);

    // Assess
    expect(loginsWhileWrong).toBe(3);
    expect(afterAppRotation.map((failure) => failure.failure)).toEqual(['auth', 'auth', 'auth']);
    expect(afterAppRotation[0]?.message).toContain('until the credentials change');
    expect(thingspace.count('login')).toBe(4);
    expect(requestsAfterAppRotation).toBe(0);
    expect(history).toEqual([RECORD]);
    const lastLogin = thingspace.requests('login').at(-1);
    expect(JSON.parse(lastLogin?.body ?? '')).toEqual({ username: CREDENTIALS.username, password: 'rotated-password' });
  });

  it('pauses token requests after a refused app secret, and logs in at once with the fixed one', async () => {
    // Prepare
    const thingspace = new FakeThingSpace();
    const clock = fakeClock();
    let current: ThingSpaceCredentials = { ...CREDENTIALS, appSecret: 'wrong-app-secret' };
    const client = createThingSpaceClient({
      baseUrl: 'https://thingspace.test',
      credentials: async () => current,
      fetch: thingspace.fetch,
      now: clock.now,
      sleep: clock.sleep,
      loginBackoffMs: MINUTE,
    });
    thingspace.tokenReplies.push({ status: 401, body: { error: 'invalid_client' } });
    const refused = await failureOf(client.getDeviceHistory(DEVICE));

    // Act
    const paused = [];
    for (let call = 0; call < 5; call += 1) paused.push(await failureOf(client.getDeviceHistory(DEVICE)));
    const tokenRequestsWhilePaused = thingspace.count('token');
    current = CREDENTIALS;
    const history = await client.getDeviceHistory(DEVICE);

    // Assess
    expect(refused.details).toEqual({ status: 401, errorCode: 'invalid_client' });
    expect(paused.every((failure) => failure.failure === 'auth' && failure.message.includes('token requests are paused'))).toBe(true);
    expect(tokenRequestsWhilePaused).toBe(1);
    expect(history).toEqual([RECORD]);
    expect(thingspace.count('token')).toBe(2);
    expect(thingspace.count('login')).toBe(1);
  });

  it('gets a new token and session when the credentials change', async () => {
    // Prepare
    const thingspace = new FakeThingSpace();
    let current: ThingSpaceCredentials = CREDENTIALS;
    const client = createThingSpaceClient({ baseUrl: 'https://thingspace.test', credentials: async () => current, fetch: thingspace.fetch });
    await client.getDeviceHistory(DEVICE);

    // Act
    current = { ...CREDENTIALS, appSecret: 'rotated-secret' };
    await client.getDeviceHistory(DEVICE);

    // Assess
    expect(thingspace.count('token')).toBe(2);
    expect(thingspace.count('login')).toBe(2);
  });

  it('fails as auth when the credentials cannot be read', async () => {
    // Prepare
    const thingspace = new FakeThingSpace();
    const client = createThingSpaceClient({
      baseUrl: 'https://thingspace.test',
      credentials: async () => {
        throw new Error('secret not found');
      },
      fetch: thingspace.fetch,
    });

    // Act
    const failure = await failureOf(client.getDeviceHistory(DEVICE));

    // Assess
    expect(failure.failure).toBe('auth');
    expect(thingspace.seen).toEqual([]);
  });
});

describe('ThingSpace client secrecy', () => {
  it('never puts a token, the app secret or the password in a log line or an error', async () => {
    // Prepare
    const { client, thingspace, logLines } = clientAgainstFake({ maxAttempts: 2 });
    thingspace.fotaReplies.push(
      { status: 401, body: { fault: { code: '900901', message: 'Invalid Credentials' } } },
      { status: 503 },
      { status: 503 },
      SESSION_EXPIRED,
    );
    thingspace.loginReplies.push(
      { status: 200, body: { sessionToken: 'session-A' } },
      { status: 200, body: { sessionToken: 'session-B' } },
      LOGIN_REFUSED,
    );

    // Act
    const errors = [await failureOf(client.getDeviceHistory(DEVICE)), await failureOf(client.getDeviceHistory(DEVICE))];

    // Assess
    const secrets = [CREDENTIALS.appSecret, CREDENTIALS.password, 'token-', 'session-A', 'session-B'];
    const text = [...logLines, ...errors.map((error) => `${error.message} ${JSON.stringify(error.details)}`)].join('\n');
    expect(errors.map((error) => error.failure)).toEqual(['unavailable', 'auth']);
    expect(thingspace.count('login')).toBe(3);
    expect(logLines.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(text).not.toContain(secret);
  });
});
