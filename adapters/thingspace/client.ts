import type { CallOptions, DeviceListPage, ThingSpaceApi } from '../../domain/ports';
import { ThingSpaceError } from '../../domain/thingspace-error';
import type { DeviceKey, UpgradeRecord } from '../../domain/upgrade-record';
import { SessionCache, type AuthHeaders } from './auth-session';
import { fullJitterDelayMs, parseRetryAfterMs } from './backoff';
import { Budget } from './budget';
import type { CredentialsProvider, ThingSpaceCredentials } from './credentials';
import { readErrorAnswer, saysSessionExpired, syntheticErrorCode } from './error-answers';
import { fetchExchange, isTransientStatus, type FetchFunction } from './exchange';
import { httpExchange } from './http-exchange';
import { InMemoryLoginGuardStore, LoginGuard, type LoginGuardStore } from './login-guard';
import { deviceListPath, historyPath, joinUrl } from './paths';
import { parseDeviceListPage, parseHistory } from './schemas';
import { silentLogger, TransientFailure, type ThingSpaceLogger, type Transport } from './transport';

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
  /** Sends requests through this fetch instead of node:http (tests script ThingSpace with it). */
  fetch?: FetchFunction;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  logger?: ThingSpaceLogger;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type Failure = { timedOut: boolean; status?: number; retryAfter?: string | null };

/**
 * ThingSpace FOTA over HTTP. Create one per execution environment and keep it at module scope:
 * its tokens and sessions are then reused across invocations.
 */
export function createThingSpaceClient(options: ThingSpaceClientOptions): ThingSpaceApi {
  return new ThingSpaceHttpClient(options);
}

class ThingSpaceHttpClient implements ThingSpaceApi {
  private readonly transport: Transport;
  private readonly sessions: SessionCache;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: ThingSpaceClientOptions) {
    this.transport = {
      baseUrl: options.baseUrl,
      send: options.fetch ? (url, init, timeoutMs) => fetchExchange(options.fetch!, url, init, timeoutMs) : httpExchange,
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
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  async getDeviceHistory(device: DeviceKey, options?: CallOptions): Promise<UpgradeRecord[]> {
    const text = await this.get('history', historyPath(device.account, device.deviceId), options);
    return parseHistory(text);
  }

  async listDevices(account: string, startIndex: string, options?: CallOptions): Promise<DeviceListPage> {
    const text = await this.get('device list', deviceListPath(account, startIndex), options);
    return parseDeviceListPage(text);
  }

  /** One GET with both tokens, renewals and retries; returns the 2xx body text. */
  private async get(operation: string, path: string, options: CallOptions | undefined): Promise<string> {
    const budget = new Budget(options?.deadline, this.transport.now);
    const auth = this.sessions.for(await this.readCredentials());
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
          { method: 'GET', headers: { accept: 'application/json', authorization: `Bearer ${used.token}`, 'VZ-M2M-Token': used.session } },
          budget.attemptTimeoutMs(this.transport.timeoutMs),
        );
        if (result.kind === 'answer' && result.status >= 200 && result.status < 300) return result.text;
        if (result.kind === 'answer' && !isTransientStatus(result.status)) {
          const answer = readErrorAnswer(result.text);
          if (result.status === 401) {
            if (tokenRenewed) {
              throw new ThingSpaceError('auth', `ThingSpace refused a renewed access token (${operation})`, { status: 401, errorCode: answer.errorCode });
            }
            tokenRenewed = true;
            auth.invalidateToken(used);
            this.transport.logger.info('ThingSpace refused the access token; renewing it once', { operation, status: 401, errorCode: answer.errorCode });
            continue;
          }
          if (saysSessionExpired(answer)) {
            if (sessionRenewed) {
              throw new ThingSpaceError('auth', `ThingSpace refused a new M2M session (${operation})`, { status: result.status, errorCode: answer.errorCode });
            }
            sessionRenewed = true;
            auth.invalidateSession(used);
            this.transport.logger.info('ThingSpace M2M session expired; logging in again once', { operation, status: result.status });
            continue;
          }
          throw rejection(operation, result.status, answer);
        }
        failure = result.kind === 'answer' ? { timedOut: false, status: result.status, retryAfter: result.retryAfter } : { timedOut: result.kind === 'timeout' };
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
    const delayMs = retryAfterMs ?? fullJitterDelayMs(failures, this.baseDelayMs, this.maxDelayMs, this.random);
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
      throw new ThingSpaceError('auth', 'The ThingSpace credentials could not be read', {}, { cause: error });
    }
  }
}

function describe(failure: Failure): string {
  if (failure.timedOut) return 'timed out';
  return failure.status === undefined ? 'network error' : `HTTP ${failure.status}`;
}

function rejection(operation: string, status: number, answer: { errorCode?: string; errorMessage?: string }): ThingSpaceError {
  const errorCode = answer.errorCode ?? syntheticErrorCode(status);
  const errorMessage = answer.errorMessage ?? `ThingSpace answered HTTP ${status}`;
  return new ThingSpaceError('rejected', `ThingSpace rejected the ${operation} request: ${errorCode}`, {
    status,
    errorCode,
    errorMessage,
  });
}
