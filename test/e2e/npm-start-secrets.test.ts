/**
 * Issue 3, black box: nothing secret reaches `npm start`'s output, even at DEBUG. The server talks to
 * the simulator through a recording proxy in this process, so the test knows every access token and
 * M2M session token ThingSpace issued to it, then greps the server's whole stdout and stderr.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { E2E_ACCOUNT, E2E_CREDENTIALS, getHistory, getPath, newDeviceId, upgrade } from '../support/e2e-fixtures';
import { freePort, type LocalServerProcess, makeTempDir, startLocalServer } from '../support/local-server-process';

/** Forwards every request to `target` and keeps the tokens ThingSpace hands out. */
async function startRecordingProxy(
  target: string,
): Promise<{ url: string; issued: Set<string>; close(): Promise<void> }> {
  const issued = new Set<string>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers)) {
        if (typeof value === 'string' && !['host', 'content-length', 'connection'].includes(name))
          headers[name] = value;
      }
      try {
        const upstream = await fetch(`${target}${request.url ?? '/'}`, {
          method: request.method,
          headers,
          body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
        });
        const text = await upstream.text();
        try {
          const body = JSON.parse(text) as { access_token?: unknown; sessionToken?: unknown };
          if (typeof body.access_token === 'string') issued.add(body.access_token);
          if (typeof body.sessionToken === 'string') issued.add(body.sessionToken);
        } catch {
          // not JSON: nothing issued
        }
        const contentType = upstream.headers.get('content-type');
        response.writeHead(upstream.status, contentType ? { 'content-type': contentType } : {});
        response.end(text);
      } catch {
        response.destroy();
      }
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    issued,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

let simulator: ThingSpaceSimulator;
let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
let dataDir: { path: string; remove(): Promise<void> };
let server: LocalServerProcess | undefined;

beforeAll(async () => {
  simulator = await startThingSpaceSimulator({ credentials: E2E_CREDENTIALS });
  simulator.addAccount(E2E_ACCOUNT);
  proxy = await startRecordingProxy(simulator.url);
  dataDir = await makeTempDir();
});

afterAll(async () => {
  await server?.stop().catch(() => undefined);
  await proxy?.close();
  await simulator?.close();
  await dataDir?.remove();
});

describe('npm start keeps secrets out of its output', () => {
  it('prints no credential value and no issued token at POWERTOOLS_LOG_LEVEL=DEBUG, through renewals and failures', async () => {
    // Prepare
    server = await startLocalServer({
      env: {
        PORT: String(await freePort()),
        THINGSPACE_BASE_URL: proxy.url,
        THINGSPACE_CREDENTIALS: JSON.stringify(E2E_CREDENTIALS),
        DATA_DIR: dataDir.path,
        POWERTOOLS_LOG_LEVEL: 'DEBUG',
        THINGSPACE_TIMEOUT_MS: '1000',
        THINGSPACE_MAX_ATTEMPTS: '2',
        THINGSPACE_RETRY_BASE_MS: '10',
      },
    });
    const device = newDeviceId();
    const down = newDeviceId();
    simulator.setHistory(E2E_ACCOUNT, device, [upgrade(device, 1)]);
    simulator.setHistory(E2E_ACCOUNT, down, [upgrade(down, 1)]);

    // Act: a first call, both renewals, a retried 5xx, a refusal passed through, an outage, a bad path
    const statuses: number[] = [];
    const ask = async (deviceId: string, account = E2E_ACCOUNT) =>
      statuses.push((await getHistory(server!.url, account, deviceId)).status);
    await ask(device);
    simulator.expireAccessTokens();
    await ask(device);
    simulator.expireSessions();
    await ask(device);
    simulator.failNext(1, 503);
    await ask(device);
    await ask(newDeviceId(), '0999999999-00009');
    simulator.setDeviceFault(down, { kind: 'status', status: 503 });
    await ask(down);
    statuses.push((await getPath(server.url, '/reports/x/devices/y')).status);
    await server.stop();
    const output = server.output();

    // Assess: the scenario ran, logged at DEBUG, and renewed what it should have
    expect(statuses).toEqual([200, 200, 200, 200, 400, 502, 400]);
    expect(output).toMatch(/"level":"DEBUG"/);
    expect(output).toContain(down); // the logs carry the requests' details, so the grep below sees them
    expect(proxy.issued.size).toBeGreaterThanOrEqual(4);
    const secrets = [
      E2E_CREDENTIALS.appKey,
      E2E_CREDENTIALS.appSecret,
      E2E_CREDENTIALS.username,
      E2E_CREDENTIALS.password,
      Buffer.from(`${E2E_CREDENTIALS.appKey}:${E2E_CREDENTIALS.appSecret}`).toString('base64'),
      ...proxy.issued,
    ];
    for (const secret of secrets) expect(output, `output holds ${secret}`).not.toContain(secret);
  });
});
