/**
 * A scripted ThingSpace over real HTTP (node:http on 127.0.0.1, a free port), for the client's tests of
 * answers the simulator does not give on demand: it answers token and login requests by default, plays
 * queued replies, and records every request it saw. The client under test uses its production transport.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';
import { createThingSpaceClient, type ThingSpaceClientOptions } from '../../adapters/thingspace/client';
import type { ThingSpaceCredentials } from '../../adapters/thingspace/credentials';
import { fakeClock } from './clock';
import { capturingLogger } from './thingspace-client';

/** An answer; the connection cut before any answer; or no answer at all (until the server closes). */
export type Reply =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { networkError: true }
  | { hang: true };

export interface SeenRequest {
  method: string;
  /** As sent, percent-encoding kept. */
  path: string;
  /** Names in lower case, as node:http gives them. */
  headers: Record<string, string>;
  body: string;
}

export const CREDENTIALS: ThingSpaceCredentials = {
  appKey: 'unit-app-key',
  appSecret: 'unit-app-secret-VALUE',
  username: 'unit-user',
  password: 'unit-password-VALUE',
};

export const RECORD = {
  deviceId: '990000473475989',
  id: 'f574fbb8-b291-4cc7-bf22-4e3f27977558',
  accountName: '0242078689-00001',
  firmwareFrom: 'VerizonFirmwareVersion-02',
  firmwareTo: 'VerizonFirmwareVersion-03',
  startDate: '2018-03-05',
  upgradeStartTime: '2018-03-05T19:07:21Z',
  status: 'UpgradeSuccess',
  reason: 'success',
};

export const DEVICE = { account: '0242078689-00001', deviceId: '990000473475989' };

const TOKEN_PATH = '/api/ts/v1/oauth2/token';
const LOGIN_PATH = '/api/m2m/v1/session/login';

export class ScriptedThingSpace {
  readonly seen: SeenRequest[] = [];
  readonly tokenReplies: Reply[] = [];
  readonly loginReplies: Reply[] = [];
  readonly fotaReplies: Reply[] = [];
  fotaDefault: Reply = { status: 200, body: [RECORD] };
  /** Lets a test hold token answers back, so concurrent callers overlap. */
  tokenGate: Promise<void> = Promise.resolve();
  private issued = 0;

  private constructor(
    private readonly server: Server,
    /** e.g. http://127.0.0.1:54321 */
    readonly url: string,
  ) {}

  /** Starts a server that is closed when the calling test finishes. */
  static async start(): Promise<ScriptedThingSpace> {
    let scripted: ScriptedThingSpace | undefined;
    const server = createServer((request, response) => {
      void scripted?.answer(request, response);
    });
    // Sockets stay open until the test ends, so a slow test never races a keep-alive timeout.
    server.keepAliveTimeout = 0;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    scripted = new ScriptedThingSpace(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    onTestFinished(() => scripted.close());
    return scripted;
  }

  count(kind: 'token' | 'login' | 'fota'): number {
    return this.requests(kind).length;
  }

  requests(kind: 'token' | 'login' | 'fota'): SeenRequest[] {
    return this.seen.filter((request) => {
      if (kind === 'token') return request.path === TOKEN_PATH;
      if (kind === 'login') return request.path === LOGIN_PATH;
      return request.path.startsWith('/api/fota/');
    });
  }

  private async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const seen = {
      method: request.method ?? 'GET',
      path: new URL(request.url ?? '/', 'http://scripted').pathname,
      headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    this.seen.push(seen);
    const reply = await this.replyTo(seen);
    if ('networkError' in reply) {
      request.socket.destroy();
      return;
    }
    if ('hang' in reply) return;
    const body =
      typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body === undefined ? {} : reply.body);
    response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers }).end(body);
  }

  private async replyTo(request: SeenRequest): Promise<Reply> {
    if (request.path === TOKEN_PATH) {
      await this.tokenGate;
      this.issued += 1;
      return (
        this.tokenReplies.shift() ?? {
          status: 200,
          body: { access_token: `token-${this.issued}`, token_type: 'Bearer', expires_in: 3600 },
        }
      );
    }
    if (request.path === LOGIN_PATH) {
      this.issued += 1;
      return this.loginReplies.shift() ?? { status: 200, body: { sessionToken: `session-${this.issued}` } };
    }
    return this.fotaReplies.shift() ?? this.fotaDefault;
  }
}

/** A client wired to a fresh scripted ThingSpace, a logical clock and a capturing logger. */
export async function scriptedClient(overrides: Partial<ThingSpaceClientOptions> = {}) {
  const thingspace = await ScriptedThingSpace.start();
  const clock = fakeClock();
  const { lines, logger } = capturingLogger();
  const client = createThingSpaceClient({
    baseUrl: `${thingspace.url}/`,
    credentials: async () => CREDENTIALS,
    now: clock.now,
    sleep: clock.sleep,
    random: () => 0.5,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    logger,
    ...overrides,
  });
  return { client, thingspace, clock, logLines: lines };
}
