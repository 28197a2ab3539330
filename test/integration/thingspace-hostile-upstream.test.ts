import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createThingSpaceClient,
  type RecordsDropped,
  type ThingSpaceClientOptions,
} from '../../adapters/thingspace/client';
import type { ThingSpaceCredentials } from '../../adapters/thingspace/credentials';
import type { UpgradeRecord } from '../../domain/upgrade-record';
import { upgradeRecord } from '../support/records';
import { capturingLogger, failureOf } from '../support/thingspace-client';

/**
 * A tiny ThingSpace over real HTTP whose history endpoint misbehaves as each test asks: bodies and bytes
 * the simulator cannot produce (endless, 50 MB, invalid UTF-8).
 */
const CREDENTIALS: ThingSpaceCredentials = {
  appKey: 'hostile-app-key',
  appSecret: 'hostile-app-secret-VALUE',
  username: 'hostile-api-user',
  password: 'hostile-password-VALUE',
};
const ACCESS_TOKEN = 'hostile-access-token-VALUE';
const SESSION_TOKEN = 'hostile-session-token-VALUE';
const DEVICE = { account: '0242078689-00001', deviceId: '990000473475989' };
const HISTORY_PATH = `/api/fota/v1/reports/${DEVICE.account}/devices/${DEVICE.deviceId}`;

type History = (request: IncomingMessage, response: ServerResponse) => void;

let server: Server;
let baseUrl: string;
let history: History;
/** The login endpoint; a success unless a test replaces it. */
let login: (body: string, response: ServerResponse) => void;
let followed: string[];
/** Resolves when the history response's connection closes, whoever closed it. */
let historyClosed: Promise<void>;

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      if (request.url === '/api/ts/v1/oauth2/token')
        return json(response, 200, { access_token: ACCESS_TOKEN, expires_in: 3600 });
      if (request.url === '/api/m2m/v1/session/login') return login(body, response);
      if (request.url === HISTORY_PATH) {
        historyClosed = new Promise((resolve) => response.on('close', resolve));
        return history(request, response);
      }
      followed.push(request.url ?? '');
      json(response, 200, []);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

beforeEach(() => {
  followed = [];
  login = (_body, response) => json(response, 200, { sessionToken: SESSION_TOKEN });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function json(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response
    .writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    .end(text);
}

/** A failed upgrade with a realistic reason, so 10,000 of them are about 3 MB, as ThingSpace's are. */
function record(overrides: Partial<UpgradeRecord> = {}): UpgradeRecord {
  return upgradeRecord({
    deviceId: DEVICE.deviceId,
    id: randomUUID(),
    accountName: DEVICE.account,
    status: 'UpgradeFailed',
    reason: 'Device did not respond within the maintenance window',
    ...overrides,
  });
}

/** Writes `chunk` for as long as the connection lasts, at the speed the client reads. */
function writeForever(response: ServerResponse, chunk: Buffer): void {
  const write = () => {
    while (!response.destroyed && response.write(chunk));
  };
  response.on('drain', write);
  write();
}

function client(options: Partial<ThingSpaceClientOptions> = {}) {
  const { lines, logger } = capturingLogger();
  const dropped: RecordsDropped[] = [];
  const thingspace = createThingSpaceClient({
    baseUrl,
    credentials: async () => CREDENTIALS,
    // Long enough that only the body limit can end an endless body within the test's time.
    timeoutMs: 25_000,
    maxAttempts: 1,
    logger,
    onRecordsDropped: (report) => dropped.push(report),
    ...options,
  });
  return { thingspace, logLines: lines, dropped };
}

describe('upstream bodies are bounded', () => {
  it('stops reading an endless body at the limit, closes the connection, and fails as malformed', async () => {
    // Prepare
    history = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('[');
      writeForever(response, Buffer.from(`${JSON.stringify(record())},`.repeat(200)));
    };

    // Act
    const failure = await failureOf(client().thingspace.getDeviceHistory(DEVICE));

    // Assess
    expect(failure.failure).toBe('malformed');
    expect(failure.message).toContain('body limit');
    await historyClosed;
  });

  it('refuses a 50 MB body by its Content-Length without reading it', async () => {
    // Prepare
    history = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(50 * 1024 * 1024) });
      writeForever(response, Buffer.alloc(64 * 1024, ' '));
    };

    // Act
    const failure = await failureOf(client().thingspace.getDeviceHistory(DEVICE));

    // Assess
    expect(failure.failure).toBe('malformed');
    await historyClosed;
  });

  it('applies a configured limit', async () => {
    // Prepare
    const records = Array.from({ length: 10 }, () => record());
    history = (_request, response) => json(response, 200, records);

    // Act
    const tight = await failureOf(client({ maxBodyBytes: 1000 }).thingspace.getDeviceHistory(DEVICE));
    const roomy = await client({ maxBodyBytes: 100_000 }).thingspace.getDeviceHistory(DEVICE);

    // Assess
    expect(tight.failure).toBe('malformed');
    expect(roomy).toEqual(records);
  });

  it('still reads 10,000 valid records within the deadline', async () => {
    // Prepare
    const records = Array.from({ length: 10_000 }, () => record());
    history = (_request, response) => json(response, 200, records);

    // Act
    const answered = await client().thingspace.getDeviceHistory(DEVICE, { deadline: Date.now() + 20_000 });

    // Assess
    expect(answered).toHaveLength(10_000);
    expect(answered).toEqual(records);
  });
});

describe('invalid UTF-8', () => {
  it('drops only the records holding invalid bytes, never archiving them as U+FFFD', async () => {
    // Prepare
    const good = [record(), record()];
    const [before, after] = JSON.stringify(record({ reason: 'INVALID' })).split('INVALID');
    history = (_request, response) => {
      const body = Buffer.concat([
        Buffer.from(`[${JSON.stringify(good[0])},${before}`),
        Buffer.from([0xc3, 0x28, 0xff]),
        Buffer.from(`${after},${JSON.stringify(good[1])}]`),
      ]);
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
    };
    const { thingspace, dropped } = client();

    // Act
    const answered = await thingspace.getDeviceHistory(DEVICE);

    // Assess
    expect(answered).toEqual(good);
    expect(JSON.stringify(answered)).not.toContain('\uFFFD');
    expect(dropped).toEqual([{ operation: 'history', dropped: { 'invalid-text': 1 } }]);
  });
});

describe('redirects', () => {
  it('treats a 302 as ThingSpace being unavailable and never follows it', async () => {
    // Prepare
    history = (_request, response) => response.writeHead(302, { location: `${baseUrl}/stolen` }).end();

    // Act
    const failure = await failureOf(client({ maxAttempts: 3 }).thingspace.getDeviceHistory(DEVICE));

    // Assess
    expect(failure.failure).toBe('unavailable');
    expect(failure.details.status).toBe(302);
    expect(followed).toEqual([]);
  });
});

describe('error answers that repeat secrets', () => {
  it('scrubs every token, key, secret, username and password from the error and the logs', async () => {
    // Prepare
    const basic = Buffer.from(`${CREDENTIALS.appKey}:${CREDENTIALS.appSecret}`).toString('base64');
    const secrets = [
      ACCESS_TOKEN,
      SESSION_TOKEN,
      CREDENTIALS.appKey,
      CREDENTIALS.appSecret,
      CREDENTIALS.username,
      CREDENTIALS.password,
      basic,
    ];
    history = (_request, response) =>
      json(response, 400, {
        errorCode: `REQUEST_FAILED.${SESSION_TOKEN}`,
        // Long, so that a cut at the message limit would leave part of a secret if scrubbing came second.
        errorMessage: `${'x'.repeat(190)} ${secrets.join(' ')} ${encodeURIComponent(CREDENTIALS.password)}`,
      });
    const { thingspace, logLines } = client();

    // Act
    const failure = await failureOf(thingspace.getDeviceHistory(DEVICE));

    // Assess
    expect(failure.failure).toBe('rejected');
    expect(failure.details.errorCode).toBe('REQUEST_FAILED.[REDACTED]');
    expect(failure.details.errorMessage).toMatch(/^x{190} \[REDACT/);
    const everything = [failure.message, failure.details.errorCode, failure.details.errorMessage, ...logLines].join(
      '\n',
    );
    for (const secret of secrets) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(secret.slice(0, 12));
    }
  });

  it('scrubs a refused login that repeats the username and password before it is logged', async () => {
    // Prepare
    login = (body, response) => {
      const { username, password } = JSON.parse(body) as { username: string; password: string };
      json(response, 400, {
        errorCode: `AUTH.Failed.${username}.${password}`,
        errorMessage: `bad password ${password} for ${username}`,
      });
    };
    const { thingspace, logLines } = client();

    // Act
    const failure = await failureOf(thingspace.getDeviceHistory(DEVICE));

    // Assess
    expect(failure.failure).toBe('auth');
    expect(logLines.join('\n')).toContain('AUTH.Failed.[REDACTED].[REDACTED]');
    const everything = [failure.message, JSON.stringify(failure.details), ...logLines].join('\n');
    for (const secret of [CREDENTIALS.username, CREDENTIALS.password, ACCESS_TOKEN])
      expect(everything).not.toContain(secret);
  });
});
