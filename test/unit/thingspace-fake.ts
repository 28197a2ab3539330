/**
 * A scripted stand-in for ThingSpace behind an injected fetch, for the client's unit tests: it answers
 * token and login requests by default, plays queued replies, and records every request it saw.
 */
import { createThingSpaceClient, type ThingSpaceClientOptions } from '../../adapters/thingspace/client';
import type { ThingSpaceCredentials } from '../../adapters/thingspace/credentials';
import { ThingSpaceError } from '../../domain/thingspace-error';

export type Reply =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { networkError: true }
  | { hang: true };

export interface SeenRequest {
  method: string;
  path: string;
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

export class FakeThingSpace {
  readonly seen: SeenRequest[] = [];
  readonly tokenReplies: Reply[] = [];
  readonly loginReplies: Reply[] = [];
  readonly fotaReplies: Reply[] = [];
  fotaDefault: Reply = { status: 200, body: [RECORD] };
  /** Lets a test hold token answers back, so concurrent callers overlap. */
  tokenGate: Promise<void> = Promise.resolve();
  private issued = 0;

  readonly fetch: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const request = { method: init?.method ?? 'GET', path: url.pathname, headers, body: String(init?.body ?? '') };
    this.seen.push(request);
    const reply = await this.replyTo(request);
    if ('networkError' in reply) throw new TypeError('fetch failed');
    if ('hang' in reply) {
      return new Promise<Response>((_, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    }
    const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
    return new Response(body, { status: reply.status, headers: reply.headers });
  };

  private async replyTo(request: SeenRequest): Promise<Reply> {
    if (request.path === '/api/ts/v1/oauth2/token') {
      await this.tokenGate;
      this.issued += 1;
      return (
        this.tokenReplies.shift() ?? {
          status: 200,
          body: { access_token: `token-${this.issued}`, token_type: 'Bearer', expires_in: 3600 },
        }
      );
    }
    if (request.path === '/api/m2m/v1/session/login') {
      this.issued += 1;
      return this.loginReplies.shift() ?? { status: 200, body: { sessionToken: `session-${this.issued}` } };
    }
    return this.fotaReplies.shift() ?? this.fotaDefault;
  }

  count(kind: 'token' | 'login' | 'fota'): number {
    return this.requests(kind).length;
  }

  requests(kind: 'token' | 'login' | 'fota'): SeenRequest[] {
    return this.seen.filter((request) => {
      if (kind === 'token') return request.path === '/api/ts/v1/oauth2/token';
      if (kind === 'login') return request.path === '/api/m2m/v1/session/login';
      return request.path.startsWith('/api/fota/');
    });
  }
}

/** A logical clock: sleeping advances it, so waits cost no real time and can be asserted exactly. */
export function fakeClock(start = 1_700_000_000_000) {
  const clock = {
    time: start,
    sleeps: [] as number[],
    now: () => clock.time,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.time += ms;
    },
  };
  return clock;
}

/** Records every log line, to check that nothing secret is ever logged. */
export function capturingLogger() {
  const lines: string[] = [];
  const log =
    (level: string) =>
    (message: string, ...extra: Record<string, unknown>[]) => {
      lines.push(`${level} ${message} ${JSON.stringify(extra)}`);
    };
  return { lines, logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') } };
}

/** A client wired to a fresh fake, a logical clock and a capturing logger. */
export function clientAgainstFake(overrides: Partial<ThingSpaceClientOptions> = {}) {
  const thingspace = new FakeThingSpace();
  const clock = fakeClock();
  const { lines, logger } = capturingLogger();
  const client = createThingSpaceClient({
    baseUrl: 'https://thingspace.test/',
    credentials: async () => CREDENTIALS,
    fetch: thingspace.fetch,
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

/** The ThingSpaceError a promise rejects with (fails the test if it resolves). */
export async function failureOf(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ThingSpaceError) return error;
    throw error;
  }
  throw new Error('expected a ThingSpaceError, but the call succeeded');
}
