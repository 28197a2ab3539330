/**
 * Issue 8 items 7 and 8 (local server), black box: `npm start` as a child process, reached only over
 * HTTP or raw sockets. A burst of first requests on a just-started server all succeed; requests Node's
 * HTTP parser rejects still get ThingSpace's error shape; SIGTERM answers every request already sent.
 */
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { E2E_CREDENTIALS } from '../support/e2e-fixtures';
import { freePort, type LocalServerProcess, makeTempDir, startLocalServer } from '../support/local-server-process';

/** A synthetic account of the simulator: each device has three upgrades, none archived yet. */
const BURST_ACCOUNT = '0555000222-00001';
const BURST_SIZE = 100;

let simulator: ThingSpaceSimulator;
let fleet: { deviceIdAt(index: number): string };
const tempDirs: Array<{ remove(): Promise<void> }> = [];
const servers: LocalServerProcess[] = [];

beforeAll(async () => {
  simulator = await startThingSpaceSimulator({ credentials: E2E_CREDENTIALS });
  fleet = simulator.addSyntheticFleet(BURST_ACCOUNT, { size: 1_000, recordsPerDevice: 3 });
});

afterAll(async () => {
  for (const server of servers) await server.stop('SIGKILL').catch(() => undefined);
  await simulator?.close();
  for (const dir of tempDirs) await dir.remove();
});

async function startServer(): Promise<LocalServerProcess> {
  const dataDir = await makeTempDir();
  tempDirs.push(dataDir);
  const server = await startLocalServer({
    env: {
      PORT: String(await freePort()),
      THINGSPACE_BASE_URL: simulator.url,
      THINGSPACE_CREDENTIALS: JSON.stringify(E2E_CREDENTIALS),
      DATA_DIR: dataDir.path,
    },
  });
  servers.push(server);
  return server;
}

interface Answer {
  status: number;
  body: string;
}

/** One GET over its own connection (an agent without a socket cap), as many independent clients would. */
function get(url: string, agent: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { agent }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('npm start under a cold burst', () => {
  it(`answers ${BURST_SIZE} concurrent first requests on a just-started server, each for a new device, all 200 with its records`, async () => {
    // Prepare
    const server = await startServer();
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });

    // Act
    const devices = Array.from({ length: BURST_SIZE }, (_, index) => fleet.deviceIdAt(index));
    const answers = await Promise.all(
      devices.map((device) => get(`${server.url}/reports/${BURST_ACCOUNT}/devices/${device}`, agent)),
    );

    // Assert
    const statuses = new Map<number, number>();
    for (const answer of answers) statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    expect(Object.fromEntries(statuses), answers.find((answer) => answer.status !== 200)?.body).toEqual({
      200: BURST_SIZE,
    });
    for (const [index, answer] of answers.entries()) {
      const records = JSON.parse(answer.body) as Array<{ deviceId: string }>;
      expect(records).toHaveLength(3);
      expect(new Set(records.map((record) => record.deviceId))).toEqual(new Set([devices[index]]));
    }
    agent.destroy();
    // A hundred first sights on a fresh process: well under 15 s alone, slower on a shared machine.
  }, 90_000);
});

interface RawAnswer {
  /** Everything the server sent before it closed the connection. */
  text: string;
  status: number;
  headers: Record<string, string>;
  body: string;
  /** How the connection ended: the server closed it ('end'), or it was reset / failed (the error code). */
  ending: string;
}

function parseRaw(text: string, ending: string): RawAnswer {
  const [head = '', body = ''] = text.split('\r\n\r\n', 2);
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { text, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body, ending };
}

/**
 * Opens a TCP connection, writes `bytes` as soon as it is connected (the way a client sends a request),
 * and collects what comes back until the server closes the connection. `connected` resolves once the
 * TCP handshake is done, i.e. the connection has reached the server's kernel.
 */
function rawRequest(url: string, bytes: string | Buffer): { connected: Promise<void>; answer: Promise<RawAnswer> } {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  let text = '';
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => {
      socket.write(bytes);
      resolve();
    });
    socket.once('error', reject);
  });
  const answer = new Promise<RawAnswer>((resolve) => {
    let ending = 'open';
    const timer = setTimeout(() => socket.destroy(new Error('no close within 20 s')), 20_000);
    socket.setEncoding('latin1').on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => (ending = 'end'));
    socket.on('error', (error: NodeJS.ErrnoException) => (ending = error.code ?? error.message));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseRaw(text, ending));
    });
  });
  connected.catch(() => undefined);
  return { connected, answer };
}

function getRequestBytes(path: string, extraHeaders = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extraHeaders}\r\n`;
}

function expectThingSpaceError(answer: RawAnswer, status: number, errorCode: string): void {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.headers['content-type']).toBe('application/json');
  expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body));
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['errorCode', 'errorMessage']);
  expect(body.errorCode).toBe(errorCode);
  expect(body.errorMessage).toEqual(expect.any(String));
  // The parser cannot resume on such a connection: the server closes it after the answer.
  expect(answer.ending).toBe('end');
}

describe("npm start answers requests its HTTP parser rejects in ThingSpace's error shape", () => {
  let server: LocalServerProcess;
  const device = () => fleet.deviceIdAt(500);

  beforeAll(async () => {
    server = await startServer();
  });

  it('answers a control byte in the path 400 INVALID_PARAMETER', async () => {
    const answer = await rawRequest(server.url, getRequestBytes(`/reports/${BURST_ACCOUNT}/devices/35\x01${device()}`))
      .answer;

    expectThingSpaceError(answer, 400, 'INVALID_PARAMETER');
  });

  it('answers headers over 16 KB 431 HEADERS_TOO_LARGE', async () => {
    const answer = await rawRequest(
      server.url,
      getRequestBytes(`/reports/${BURST_ACCOUNT}/devices/${device()}`, `X-Padding: ${'a'.repeat(17 * 1024)}\r\n`),
    ).answer;

    expectThingSpaceError(answer, 431, 'HEADERS_TOO_LARGE');
  });

  it('answers a method HTTP does not know 405 METHOD_NOT_ALLOWED, naming GET in Allow', async () => {
    const answer = await rawRequest(
      server.url,
      `BREW /reports/${BURST_ACCOUNT}/devices/${device()} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
    ).answer;

    expectThingSpaceError(answer, 405, 'METHOD_NOT_ALLOWED');
    expect(answer.headers.allow).toBe('GET');
  });

  it('answers a malformed header 400 BAD_REQUEST', async () => {
    const answer = await rawRequest(
      server.url,
      getRequestBytes(`/reports/${BURST_ACCOUNT}/devices/${device()}`, 'Not A Header\r\n'),
    ).answer;

    expectThingSpaceError(answer, 400, 'BAD_REQUEST');
  });

  it('keeps serving well-formed requests after those', async () => {
    const answer = await rawRequest(
      server.url,
      getRequestBytes(`/reports/${BURST_ACCOUNT}/devices/${device()}`, 'Connection: close\r\n'),
    ).answer;

    expect(answer.status, answer.text).toBe(200);
    expect(JSON.parse(answer.body)).toHaveLength(3);
  });
});

describe('npm start on SIGTERM', () => {
  it('answers every request already sent, in flight or on a connection opened just before the signal, then exits 0', async () => {
    // Prepare: ThingSpace answers slowly, so the first request is still in flight at the signal
    const server = await startServer();
    simulator.setLatency(400);
    try {
      const devices = Array.from({ length: 21 }, (_, index) => fleet.deviceIdAt(600 + index));
      const inFlight = rawRequest(server.url, getRequestBytes(`/reports/${BURST_ACCOUNT}/devices/${devices[0]}`));
      await inFlight.connected;
      await new Promise((done) => setTimeout(done, 100));

      // Act: 20 new connections, each sending its request as soon as it connects, then SIGTERM at once
      const late = devices
        .slice(1)
        .map((deviceId) => rawRequest(server.url, getRequestBytes(`/reports/${BURST_ACCOUNT}/devices/${deviceId}`)));
      await Promise.all(late.map((request) => request.connected));
      const stopped = server.stop('SIGTERM');
      const answers = await Promise.all([inFlight, ...late].map((request) => request.answer));
      const exit = await stopped;

      // Assert: every request answered in full, each connection then closed by the server
      for (const [index, answer] of answers.entries()) {
        expect(
          answer.status,
          `request ${index}: ${answer.ending} after ${JSON.stringify(answer.text.slice(0, 200))}`,
        ).toBe(200);
        expect((JSON.parse(answer.body) as Array<{ deviceId: string }>).map((record) => record.deviceId)).toEqual(
          Array(3).fill(devices[index]),
        );
        expect(answer.headers.connection).toBe('close');
        expect(answer.ending).toBe('end');
      }
      expect(exit).toEqual({ code: 0, signal: null });
      expect(server.stdout()).toContain('thingspace-fota-history stopped');
    } finally {
      simulator.setLatency(0);
    }
  });
});
