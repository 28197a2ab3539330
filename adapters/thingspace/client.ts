/**
 * The ThingSpace FOTA client: device history, device list and callback registration over HTTP, with
 * authentication, retries and validation of every answer.
 */
import type { CallOptions, DeviceListPage, ThingSpaceApi } from '../../domain/ports';
import { ThingSpaceError } from '../../domain/thingspace-error';
import type { DeviceKey, UpgradeRecord } from '../../domain/upgrade-record';
import { type DropCounts, droppedTotal } from '../../domain/upstream-record';
import { backoff, sleep } from '../retry';
import { type AuthHeaders, SessionCache } from './auth-session';
import { Budget } from './budget';
import { type CredentialsProvider, CredentialsUnavailableError, type ThingSpaceCredentials } from './credentials';
import {
  readErrorAnswer,
  saysSessionExpired,
  secretForms,
  syntheticErrorCode,
  withoutEchoedSecrets,
} from './error-answers';
import { DEFAULT_MAX_BODY_BYTES, isTransientStatus } from './exchange';
import { httpExchange } from './http-exchange';
import { InMemoryLoginGuardStore, LoginGuard, type LoginGuardStore } from './login-guard';
import { callbacksPath, deviceListPath, historyPath, joinUrl } from './paths';
import { parseRetryAfterMs } from './retry-after';
import { parseDeviceListPage, parseHistory } from './schemas';
import { silentLogger, type ThingSpaceLogger, TransientFailure, type Transport } from './transport';

export interface ThingSpaceClientOptions {
  baseUrl: string;
  credentials: CredentialsProvider;
  /** Per request attempt; also bounded by the call's deadline. */
  timeoutMs?: number;
  /** Attempts per call for 429, 5xx, timeouts and network errors (auth renewals do not count). */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** First pause of a user's logins with the same credentials after an attempt without a success; doubles. */
  loginBackoffMs?: number;
  maxLoginBackoffMs?: number;
  /**
   * Where the login guard keeps each API user's count (DynamoDbLoginGuard, in the history table, when
   * deployed and locally), so every process and instance shares it. Without one, this process keeps it.
   */
  loginGuard?: LoginGuardStore;
  /** Without a deadline, a longer Retry-After than this gives up instead of waiting. */
  maxRetryAfterMs?: number;
  /**
   * Bytes of one answer's body read at most (default 5 MiB); a longer body is not read further, its
   * connection is destroyed, and a 2xx answer is then malformed.
   */
  maxBodyBytes?: number;
  /**
   * Hears of records (or device ids) dropped from an answer because they belong to another device or
   * break the record rules (domain/upstream-record.ts): counts only. The client also logs one warning.
   */
  onRecordsDropped?: (report: RecordsDropped) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  logger?: ThingSpaceLogger;
}

export interface RecordsDropped {
  operation: 'history' | 'device list';
  dropped: DropCounts;
}

/** A callback listener ThingSpace knows of (GET /api/fota/v1/callbacks/{account}). */
interface RegisteredCallback {
  name: string;
  url: string;
}

/** ThingSpace's FOTA callback registration, used by `npm run callbacks`. */
export interface ThingSpaceCallbackApi {
  /** POST /api/fota/v1/callbacks/{account} with {name: "Fota", url, username, password}. */
  registerCallback(
    account: string,
    listener: { url: string; username: string; password: string },
    options?: CallOptions,
  ): Promise<void>;
  listCallbacks(account: string, options?: CallOptions): Promise<RegisteredCallback[]>;
  /** DELETE /api/fota/v1/callbacks/{account}/name/Fota */
  deleteCallback(account: string, options?: CallOptions): Promise<void>;
}

/** The only callback service name FOTA uses. */
const FOTA_CALLBACK_NAME = 'Fota';

type Failure = { timedOut: boolean; status?: number; retryAfter?: string | null };

/** A 2xx body, read whole. */
type Answer = { text: string; invalidUtf8?: true };

/**
 * ThingSpace FOTA over HTTP. Create one per execution environment and keep it at module scope:
 * its tokens and sessions are then reused across invocations.
 */
export function createThingSpaceClient(options: ThingSpaceClientOptions): ThingSpaceApi & ThingSpaceCallbackApi {
  return new ThingSpaceHttpClient(options);
}

class ThingSpaceHttpClient implements ThingSpaceApi, ThingSpaceCallbackApi {
  private readonly transport: Transport;
  private readonly sessions: SessionCache;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: ThingSpaceClientOptions) {
    const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.transport = {
      baseUrl: options.baseUrl,
      // Token and login refusals too: an error answer that repeats the request's secrets is scrubbed first.
      send: async (url, init, timeoutMs) =>
        withoutEchoedSecrets(init, await httpExchange(url, init, timeoutMs, maxBodyBytes)),
      timeoutMs: options.timeoutMs ?? 8000,
      now: options.now ?? (() => Date.now()),
      logger: options.logger ?? silentLogger,
    };
    const guard = new LoginGuard({
      store: options.loginGuard ?? new InMemoryLoginGuardStore(),
      // The lease must outlast one login request, bounded by the timeout, and the write of its verdict.
      leaseMs: this.transport.timeoutMs + 5000,
      backoffMs: options.loginBackoffMs,
      maxBackoffMs: options.maxLoginBackoffMs,
      now: this.transport.now,
      sleep: options.sleep,
    });
    this.sessions = new SessionCache(this.transport, guard);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 5000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
    this.sleep = options.sleep ?? sleep;
    this.random = options.random ?? Math.random;
  }

  async getDeviceHistory(device: DeviceKey, options?: CallOptions): Promise<UpgradeRecord[]> {
    const answer = await this.get('history', historyPath(device.account, device.deviceId), options);
    const { records, dropped } = parseHistory(answer.text, device, answer);
    this.reportDropped('history', dropped);
    return records;
  }

  async listDevices(account: string, startIndex: string, options?: CallOptions): Promise<DeviceListPage> {
    const answer = await this.get('device list', deviceListPath(account, startIndex), options);
    const { page, dropped } = parseDeviceListPage(answer.text, answer);
    this.reportDropped('device list', dropped);
    return page;
  }

  /** One warning with the counts only: a dropped record's content may be anything, another device's data included. */
  private reportDropped(operation: RecordsDropped['operation'], dropped: DropCounts): void {
    const total = droppedTotal(dropped);
    if (total === 0) return;
    this.transport.logger.warn('ThingSpace answer had records that were dropped', {
      operation,
      dropped: total,
      reasons: dropped,
    });
    this.options.onRecordsDropped?.({ operation, dropped });
  }

  async registerCallback(
    account: string,
    listener: { url: string; username: string; password: string },
    options?: CallOptions,
  ): Promise<void> {
    const body = JSON.stringify({
      name: FOTA_CALLBACK_NAME,
      url: listener.url,
      username: listener.username,
      password: listener.password,
    });
    await this.get('callback registration', callbacksPath(account), options, { method: 'POST', body });
  }

  async listCallbacks(account: string, options?: CallOptions): Promise<RegisteredCallback[]> {
    const answer = await this.get('callback list', callbacksPath(account), options);
    return parseRegisteredCallbacks(answer.text);
  }

  async deleteCallback(account: string, options?: CallOptions): Promise<void> {
    await this.get('callback deletion', `${callbacksPath(account)}/name/${FOTA_CALLBACK_NAME}`, options, {
      method: 'DELETE',
    });
  }

  /** One request (GET unless told) with both tokens, renewals and retries; returns the 2xx body. */
  private async get(
    operation: string,
    path: string,
    options: CallOptions | undefined,
    request: { method: 'GET' | 'POST' | 'DELETE'; body?: string } = { method: 'GET' },
  ): Promise<Answer> {
    const budget = new Budget(options?.deadline, this.transport.now);
    const credentials = await this.readCredentials();
    const auth = this.sessions.for(credentials);
    const url = joinUrl(this.transport.baseUrl, path);
    let failures = 0;
    let tokenRenewed = false;
    let sessionRenewed = false;
    for (;;) {
      let used: AuthHeaders | undefined;
      let failure: Failure;
      try {
        used = await auth.headers(budget);
        const result = await this.transport.send(
          url,
          {
            method: request.method,
            headers: {
              accept: 'application/json',
              authorization: `Bearer ${used.token}`,
              'VZ-M2M-Token': used.session,
              ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
            },
            ...(request.body === undefined ? {} : { body: request.body }),
          },
          budget.attemptTimeoutMs(this.transport.timeoutMs),
        );
        if (result.kind === 'answer' && result.status >= 200 && result.status < 300) {
          if (result.bodyTooLarge) throw tooLarge(operation, result.status);
          return result.invalidUtf8 ? { text: result.text, invalidUtf8: true } : { text: result.text };
        }
        if (result.kind === 'answer' && result.status >= 300 && result.status < 400) {
          // Never followed: the Authorization and VZ-M2M-Token headers would go to whatever host it names.
          throw new ThingSpaceError(
            'unavailable',
            `ThingSpace answered the ${operation} request with a redirect (HTTP ${result.status}); not followed`,
            {
              status: result.status,
            },
          );
        }
        if (result.kind === 'answer' && !isTransientStatus(result.status)) {
          // What the request carried, in case the answer repeats it: it must reach neither the caller nor a log.
          const secrets = secretForms([
            used.token,
            used.session,
            credentials.appKey,
            credentials.appSecret,
            Buffer.from(`${credentials.appKey}:${credentials.appSecret}`).toString('base64'),
            credentials.username,
            credentials.password,
          ]);
          const answer = readErrorAnswer(result.text, secrets);
          if (result.status === 401) {
            if (tokenRenewed) {
              throw new ThingSpaceError('auth', `ThingSpace refused a renewed access token (${operation})`, {
                status: 401,
                errorCode: answer.errorCode,
              });
            }
            tokenRenewed = true;
            auth.invalidateToken(used);
            this.transport.logger.info('ThingSpace refused the access token; renewing it once', {
              operation,
              status: 401,
              errorCode: answer.errorCode,
            });
            continue;
          }
          if (saysSessionExpired(answer)) {
            if (sessionRenewed) {
              throw new ThingSpaceError('auth', `ThingSpace refused a new M2M session (${operation})`, {
                status: result.status,
                errorCode: answer.errorCode,
              });
            }
            sessionRenewed = true;
            auth.invalidateSession(used);
            this.transport.logger.info('ThingSpace M2M session expired; logging in again once', {
              operation,
              status: result.status,
            });
            continue;
          }
          throw rejection(operation, result.status, answer);
        }
        failure =
          result.kind === 'answer'
            ? { timedOut: false, status: result.status, retryAfter: result.retryAfter }
            : { timedOut: result.kind === 'timeout' };
      } catch (error) {
        if (!(error instanceof TransientFailure)) throw error;
        failure = error;
      }
      failures += 1;
      await this.waitBeforeRetry(operation, failures, failure, budget);
    }
  }

  /** Waits before the next attempt, or throws when attempts or time have run out. */
  private async waitBeforeRetry(operation: string, failures: number, failure: Failure, budget: Budget): Promise<void> {
    const exhausted = (reason: string) =>
      new ThingSpaceError(
        failure.timedOut ? 'timeout' : 'unavailable',
        `ThingSpace ${operation} failed after ${failures} attempt(s): ${describe(failure)}; ${reason}`,
        failure.status === undefined ? {} : { status: failure.status },
      );
    if (failures >= this.maxAttempts) throw exhausted('no attempts left');
    const retryAfterMs = parseRetryAfterMs(failure.retryAfter, this.transport.now());
    if (retryAfterMs !== undefined && !Number.isFinite(budget.remainingMs()) && retryAfterMs > this.maxRetryAfterMs) {
      throw exhausted(`Retry-After ${retryAfterMs} ms is too long`);
    }
    const delayMs =
      retryAfterMs ?? backoff(failures, { baseMs: this.baseDelayMs, capMs: this.maxDelayMs }, this.random);
    if (!budget.allowsWait(delayMs)) throw exhausted('the deadline leaves no time for another attempt');
    this.transport.logger.warn('ThingSpace call failed; retrying', {
      operation,
      status: failure.status,
      timedOut: failure.timedOut,
      attempt: failures,
      delayMs,
    });
    await this.sleep(delayMs);
  }

  private async readCredentials(): Promise<ThingSpaceCredentials> {
    try {
      return await this.options.credentials();
    } catch (error) {
      // The reason names the secret and the cause, never its content (CredentialsUnavailableError).
      const reason = error instanceof CredentialsUnavailableError ? `: ${error.message}` : '';
      throw new ThingSpaceError(
        'credentials',
        `The ThingSpace credentials could not be read${reason}`,
        {},
        { cause: error },
      );
    }
  }
}

/** Tolerates a bare array or {callbacks|services: [...]}, and keeps only string name/url pairs. */
function parseRegisteredCallbacks(text: string): RegisteredCallback[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ThingSpaceError('unavailable', 'ThingSpace answered the callback list with malformed JSON');
  }
  const container = value as Record<string, unknown> | null;
  const list = Array.isArray(value)
    ? value
    : Array.isArray(container?.callbacks)
      ? container.callbacks
      : Array.isArray(container?.services)
        ? container.services
        : [];
  return (list as Array<Record<string, unknown>>)
    .filter((entry) => typeof entry === 'object' && entry !== null)
    .map((entry) => ({ name: String(entry.name ?? ''), url: String(entry.url ?? '') }));
}

function describe(failure: Failure): string {
  if (failure.timedOut) return 'timed out';
  return failure.status === undefined ? 'network error' : `HTTP ${failure.status}`;
}

function tooLarge(operation: string, status: number): ThingSpaceError {
  return new ThingSpaceError(
    'malformed',
    `ThingSpace ${operation} answer is larger than the body limit; not read further`,
    { status },
  );
}

function rejection(
  operation: string,
  status: number,
  answer: { errorCode?: string; errorMessage?: string },
): ThingSpaceError {
  const errorCode = answer.errorCode ?? syntheticErrorCode(status);
  const errorMessage = answer.errorMessage ?? `ThingSpace answered HTTP ${status}`;
  return new ThingSpaceError('rejected', `ThingSpace rejected the ${operation} request: ${errorCode}`, {
    status,
    errorCode,
    errorMessage,
  });
}
