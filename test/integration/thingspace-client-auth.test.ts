import { describe, expect, it } from 'vitest';
import { createThingSpaceClient } from '../../adapters/thingspace/client';
import type { ThingSpaceCredentials } from '../../adapters/thingspace/credentials';
import { fakeClock } from '../support/clock';
import { CREDENTIALS, DEVICE, RECORD, ScriptedThingSpace, scriptedClient } from '../support/scripted-thingspace';
import { failureOf } from '../support/thingspace-client';

const SESSION_EXPIRED = {
  status: 400,
  body: {
    errorCode: 'UnifiedWebService.REQUEST_FAILED.SessionToken.Expired',
    errorMessage: 'The Session has expired.',
  },
};
const LOGIN_REFUSED = {
  status: 400,
  body: { errorCode: 'UnifiedWebService.AUTH.Failed', errorMessage: 'Invalid credentials' },
};
const MINUTE = 60_000;

describe('ThingSpace client tokens and sessions', () => {
  it('sends both tokens on FOTA calls and reuses them across calls', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient();

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
    const { client, thingspace } = await scriptedClient();

    // Act
    await client.getDeviceHistory(DEVICE);

    // Assess
    const [token] = thingspace.requests('token');
    expect(token?.headers.authorization).toBe(
      `Basic ${Buffer.from('unit-app-key:unit-app-secret-VALUE').toString('base64')}`,
    );
    expect(token?.body).toBe('grant_type=client_credentials');
    const [login] = thingspace.requests('login');
    expect(login?.headers.authorization).toBe('Bearer token-1');
    expect(JSON.parse(login?.body ?? '')).toEqual({ username: 'unit-user', password: 'unit-password-VALUE' });
  });

  it('shares one token request and one login among 30 concurrent first calls', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient();
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
    const { client, thingspace, clock } = await scriptedClient();
    await client.getDeviceHistory(DEVICE);

    // Act
    clock.time += 59 * MINUTE + 30_000;
    await client.getDeviceHistory(DEVICE);

    // Assess
    expect(thingspace.count('token')).toBe(2);
  });

  it('keeps a session that is used, and logs in again before an idle one expires', async () => {
    // Prepare
    const { client, thingspace, clock } = await scriptedClient();
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
    const { client, thingspace } = await scriptedClient();
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
    const { client, thingspace } = await scriptedClient();
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
    const { client, thingspace } = await scriptedClient();
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
    const { client, thingspace } = await scriptedClient();
    thingspace.fotaReplies.push({
      status: 400,
      body: { errorCode: 'SOMETHING.ELSE', errorMessage: 'The Session has expired.' },
    });

    // Act
    await client.getDeviceHistory(DEVICE);

    // Assess
    expect(thingspace.count('login')).toBe(2);
  });

  it('fails as auth when a fresh session is reported expired again', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient();
    thingspace.fotaDefault = SESSION_EXPIRED;

    // Act
    const failure = await failureOf(client.getDeviceHistory(DEVICE));

    // Assess
    expect(failure.failure).toBe('auth');
    expect(thingspace.count('login')).toBe(2);
  });

  it('counts a login answered 401 as a failed attempt, renews the token for the next one, and does not retry it in the call', async () => {
    // Prepare
    const { client, thingspace, clock } = await scriptedClient({ loginBackoffMs: MINUTE });
    thingspace.loginReplies.push({ status: 401, body: { fault: { code: '900901', message: 'Invalid Credentials' } } });

    // Act
    const failure = await failureOf(client.getDeviceHistory(DEVICE));
    const loginsInTheCall = thingspace.count('login');
    clock.time += MINUTE;
    const history = await client.getDeviceHistory(DEVICE);

    // Assess
    expect(failure.failure).toBe('auth');
    expect(failure.details).toEqual({ status: 401, errorCode: '900901' });
    expect(loginsInTheCall).toBe(1);
    expect(history).toEqual([RECORD]);
    expect(thingspace.count('token')).toBe(2);
    expect(thingspace.count('login')).toBe(2);
  });

  it('does not retry a login that timed out within the call, and counts it', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient({ timeoutMs: 50, maxAttempts: 4 });
    thingspace.loginReplies.push({ hang: true });

    // Act
    const timedOut = await failureOf(client.getDeviceHistory(DEVICE));
    const next = await failureOf(client.getDeviceHistory(DEVICE));

    // Assess
    expect(timedOut.failure).toBe('timeout');
    expect(next.failure).toBe('auth');
    expect(next.message).toContain('paused');
    expect(thingspace.count('login')).toBe(1);
  });

  it('retries a token request that failed with 5xx, which is not a login attempt', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient();
    thingspace.tokenReplies.push({ status: 503 });

    // Act
    const history = await client.getDeviceHistory(DEVICE);

    // Assess
    expect(history).toEqual([RECORD]);
    expect(thingspace.count('token')).toBe(2);
    expect(thingspace.count('login')).toBe(1);
  });
});

describe('ThingSpace client lockout guard', () => {
  it('never retries a refused login and fails later calls fast without calling ThingSpace', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient();
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
    const { client, thingspace } = await scriptedClient();
    thingspace.loginReplies.push(LOGIN_REFUSED);

    // Act
    const failures = await Promise.all(Array.from({ length: 30 }, () => failureOf(client.getDeviceHistory(DEVICE))));

    // Assess
    expect(failures.every((failure) => failure.failure === 'auth')).toBe(true);
    expect(thingspace.count('login')).toBe(1);
  });

  it('tries again after the pause, doubling the pause after another refusal', async () => {
    // Prepare
    const { client, thingspace, clock } = await scriptedClient({ loginBackoffMs: MINUTE });
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

  it('stops every login after four attempts without a success, even of a rotated password', async () => {
    // Prepare
    const thingspace = await ScriptedThingSpace.start();
    const clock = fakeClock();
    let current: ThingSpaceCredentials = CREDENTIALS;
    const client = createThingSpaceClient({
      baseUrl: thingspace.url,
      credentials: async () => current,
      now: clock.now,
      sleep: clock.sleep,
      loginBackoffMs: MINUTE,
      timeoutMs: 50,
    });
    thingspace.loginReplies.push(LOGIN_REFUSED, { status: 503 }, { hang: true }, { networkError: true });
    for (let call = 0; call < 4; call += 1) {
      await failureOf(client.getDeviceHistory(DEVICE));
      clock.time += 60 * MINUTE;
    }

    // Act
    const stopped = await failureOf(client.getDeviceHistory(DEVICE));
    current = { ...CREDENTIALS, password: 'rotated-password' };
    const rotated = await failureOf(client.getDeviceHistory(DEVICE));

    // Assess
    expect(thingspace.count('login')).toBe(4);
    for (const failure of [stopped, rotated]) {
      expect(failure.failure).toBe('auth');
      expect(failure.message).toContain('stopped for this API user after 4 consecutive attempts');
    }
  });

  it('fails as auth on a refused app key pair without a login attempt, and asks again on the next call', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient();
    thingspace.tokenReplies.push({
      status: 401,
      body: { error: 'invalid_client', error_description: 'Client Authentication failed.' },
    });

    // Act
    const refused = await failureOf(client.getDeviceHistory(DEVICE));
    const history = await client.getDeviceHistory(DEVICE);

    // Assess
    expect(refused.failure).toBe('auth');
    expect(refused.details).toEqual({ status: 401, errorCode: 'invalid_client' });
    expect(history).toEqual([RECORD]);
    expect(thingspace.count('token')).toBe(2);
    expect(thingspace.count('login')).toBe(1);
  });

  it('does not hold rotated credentials back by the pause of the refused ones', async () => {
    // Prepare
    const thingspace = await ScriptedThingSpace.start();
    const clock = fakeClock();
    let current: ThingSpaceCredentials = CREDENTIALS;
    const client = createThingSpaceClient({
      baseUrl: thingspace.url,
      credentials: async () => current,
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

  it('keeps the refused password paused when only the app key pair is rotated', async () => {
    // Prepare
    const thingspace = await ScriptedThingSpace.start();
    const clock = fakeClock();
    let current: ThingSpaceCredentials = CREDENTIALS;
    const client = createThingSpaceClient({
      baseUrl: thingspace.url,
      credentials: async () => current,
      now: clock.now,
      sleep: clock.sleep,
      loginBackoffMs: MINUTE,
    });
    thingspace.loginReplies.push(LOGIN_REFUSED);
    await failureOf(client.getDeviceHistory(DEVICE));

    // Act
    current = { ...CREDENTIALS, appKey: 'rotated-app-key', appSecret: 'rotated-app-secret' };
    const afterAppRotation = await failureOf(client.getDeviceHistory(DEVICE));
    clock.time += MINUTE;
    const afterPause = await client.getDeviceHistory(DEVICE);

    // Assess
    expect(afterAppRotation.failure).toBe('auth');
    expect(afterAppRotation.message).toContain('paused for another 60 s');
    expect(afterPause).toEqual([RECORD]);
    expect(thingspace.count('login')).toBe(2);
  });

  it('gets a new token and session when the credentials change', async () => {
    // Prepare
    const thingspace = await ScriptedThingSpace.start();
    let current: ThingSpaceCredentials = CREDENTIALS;
    const client = createThingSpaceClient({
      baseUrl: thingspace.url,
      credentials: async () => current,
    });
    await client.getDeviceHistory(DEVICE);

    // Act
    current = { ...CREDENTIALS, appSecret: 'rotated-secret' };
    await client.getDeviceHistory(DEVICE);

    // Assess
    expect(thingspace.count('token')).toBe(2);
    expect(thingspace.count('login')).toBe(2);
  });

  it('fails as credentials, without calling ThingSpace, when the credentials cannot be read', async () => {
    // Prepare
    const thingspace = await ScriptedThingSpace.start();
    const client = createThingSpaceClient({
      baseUrl: thingspace.url,
      credentials: async () => {
        throw new Error('secret not found');
      },
    });

    // Act
    const failure = await failureOf(client.getDeviceHistory(DEVICE));

    // Assess
    expect(failure.failure).toBe('credentials');
    expect(thingspace.seen).toEqual([]);
  });
});

describe('ThingSpace client secrecy', () => {
  it('never puts a token, the app secret or the password in a log line or an error', async () => {
    // Prepare
    const { client, thingspace, logLines } = await scriptedClient({ maxAttempts: 2 });
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
    const text = [...logLines, ...errors.map((error) => `${error.message} ${JSON.stringify(error.details)}`)].join(
      '\n',
    );
    expect(errors.map((error) => error.failure)).toEqual(['unavailable', 'auth']);
    expect(thingspace.count('login')).toBe(3);
    expect(logLines.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(text).not.toContain(secret);
  });
});
