/**
 * ThingSpace's FOTA callback registrations, and their delivery: when a device's records change, a POST
 * goes to the account's listener with the registered username and password in the body (as ThingSpace
 * sends them back with each message). Delivery is best effort, in the background, one attempt.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimulatorCore } from './core';
import { errorBody, parseJsonObject, readBody, sendJson } from './http-util';

/** A listener registered with POST /api/fota/v1/callbacks/{account}. */
export interface RegisteredListener {
  name: string;
  url: string;
  username?: string;
  password?: string;
}

/** One callback the simulator tried to deliver, for tests and `GET /_simulator/callbacks-sent`. */
export interface SentCallback {
  account: string;
  url: string;
  deviceIds: string[];
  /** The listener's HTTP status, or 0 when it could not be reached. */
  status: number;
}

const SENT_LOG_LIMIT = 1_000;
const DELIVERY_TIMEOUT_MS = 5_000;

export class CallbackRegistry {
  private readonly listeners = new Map<string, RegisteredListener>();
  private readonly sent: SentCallback[] = [];
  private readonly deliveries = new Set<Promise<void>>();

  register(account: string, listener: RegisteredListener): void {
    this.listeners.set(account, listener);
  }

  list(account: string): Array<{ accountName: string; name: string; url: string }> {
    const listener = this.listeners.get(account);
    return listener ? [{ accountName: account, name: listener.name, url: listener.url }] : [];
  }

  remove(account: string, name: string): boolean {
    const listener = this.listeners.get(account);
    if (!listener || listener.name !== name) return false;
    this.listeners.delete(account);
    return true;
  }

  sentCallbacks(): SentCallback[] {
    return [...this.sent];
  }

  /** Resolves when every delivery started so far has finished (tests, close()). */
  async settled(): Promise<void> {
    while (this.deliveries.size > 0) await Promise.allSettled([...this.deliveries]);
  }

  /** Tells the account's listener, if any, that these devices' upgrades changed. */
  notify(account: string, changes: ReadonlyArray<{ deviceId: string; id?: string; status?: string }>): void {
    const listener = this.listeners.get(account);
    if (!listener || changes.length === 0) return;
    const body = {
      ...(listener.username === undefined ? {} : { username: listener.username }),
      ...(listener.password === undefined ? {} : { password: listener.password }),
      accountName: account,
      deviceList: changes.map((change) => ({ deviceId: change.deviceId, upgradeId: change.id, status: change.status })),
    };
    const delivery = this.deliver(listener.url, body).then((status) => {
      this.sent.push({ account, url: listener.url, deviceIds: changes.map((change) => change.deviceId), status });
      if (this.sent.length > SENT_LOG_LIMIT) this.sent.shift();
    });
    this.deliveries.add(delivery);
    void delivery.finally(() => this.deliveries.delete(delivery));
  }

  private async deliver(url: string, body: unknown): Promise<number> {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      await response.body?.cancel();
      return response.status;
    } catch {
      return 0;
    }
  }
}

export type CallbacksRoute =
  | { kind: 'register' | 'list'; account: string }
  | { kind: 'delete'; account: string; name: string };

/** /api/fota/v1/callbacks/{account} (POST, GET) and /api/fota/v1/callbacks/{account}/name/{name} (DELETE). */
export function parseCallbacksRoute(method: string, segments: readonly string[]): CallbacksRoute | undefined {
  const [api, fota, v1, callbacks, account, nameLiteral, name, ...rest] = segments;
  if (api !== 'api' || fota !== 'fota' || v1 !== 'v1' || callbacks !== 'callbacks' || !account || rest.length > 0)
    return undefined;
  if (nameLiteral === undefined) {
    if (method === 'POST') return { kind: 'register', account };
    if (method === 'GET') return { kind: 'list', account };
    return undefined;
  }
  if (method === 'DELETE' && nameLiteral === 'name' && name) return { kind: 'delete', account, name };
  return undefined;
}

const ACCOUNT_FORMAT = /^[0-9]{1,32}(?:-[0-9]{1,16})?$/;

export async function handleCallbacks(
  core: SimulatorCore,
  request: IncomingMessage,
  response: ServerResponse,
  route: CallbacksRoute,
  authorized: () => boolean,
): Promise<void> {
  const text = await readBody(request);
  if (!authorized()) return;
  if (!ACCOUNT_FORMAT.test(route.account)) {
    sendJson(response, 400, errorBody('INVALID_PARAMETER', 'Invalid account name format'));
    return;
  }
  if (route.kind === 'list') {
    sendJson(response, 200, core.callbacks.list(route.account));
    return;
  }
  if (route.kind === 'delete') {
    if (!core.callbacks.remove(route.account, route.name)) {
      sendJson(response, 400, errorBody('INVALID_PARAMETER', `No callback named ${route.name} is registered`));
      return;
    }
    sendJson(response, 200, { accountName: route.account, name: route.name });
    return;
  }
  const body = parseJsonObject(text);
  const url = typeof body?.url === 'string' ? safeUrl(body.url) : undefined;
  if (body?.name !== 'Fota' || !url) {
    sendJson(
      response,
      400,
      errorBody('INVALID_PARAMETER', 'Expected {"name":"Fota","url":"http(s)://...","username","password"}'),
    );
    return;
  }
  core.callbacks.register(route.account, {
    name: 'Fota',
    url,
    ...(typeof body.username === 'string' ? { username: body.username } : {}),
    ...(typeof body.password === 'string' ? { password: body.password } : {}),
  });
  sendJson(response, 200, { accountName: route.account, name: 'Fota' });
}

function safeUrl(text: string): string | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}
