/** Everything the simulator's routes share. */
import type { ThingSpaceCredentials } from '../../adapters/thingspace/credentials';
import { SimulatedAuth } from './auth';
import { CallbackRegistry } from './callbacks';
import { Faults } from './faults';
import { Fleet } from './fleet';
import { RequestLog } from './request-log';
import type { SimulatorOptions, SimulatorStats } from './types';

const DEFAULT_TOKEN_TTL_SECONDS = 3600;
const DEFAULT_SESSION_IDLE_SECONDS = 20 * 60;
const DEFAULT_PAGE_SIZE = 1000;

export class SimulatorCore {
  readonly fleet = new Fleet();
  readonly callbacks = new CallbackRegistry();
  readonly auth: SimulatedAuth;
  readonly faults: Faults;
  /** Faults of the login endpoint (`status`, `delay`: judged after the delay, `hang`: never judged). */
  readonly loginFaults = new Faults();
  readonly log: RequestLog;
  readonly pageSize: number;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(credentials: ThingSpaceCredentials, options: SimulatorOptions) {
    const now = options.now ?? Date.now;
    this.auth = new SimulatedAuth(
      credentials,
      (options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS) * 1000,
      (options.sessionIdleSeconds ?? DEFAULT_SESSION_IDLE_SECONDS) * 1000,
      now,
    );
    this.faults = new Faults(options.latencyMs ?? 0);
    this.log = new RequestLog(options.requestLogLimit ?? 10_000);
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  }

  /** A delay that close() cancels, so a closed simulator leaves no timer keeping the process alive. */
  wait(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  cancelWaits(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  stats(): SimulatorStats {
    return {
      requests: this.log.total,
      tokenRequests: this.auth.tokenRequests,
      tokensIssued: this.auth.tokensIssued,
      loginRequests: this.auth.loginRequests,
      loginsOk: this.auth.loginsOk,
      loginsFailed: this.auth.loginsFailed,
      consecutiveFailedLogins: this.auth.consecutiveFailedLogins,
      userLocked: this.auth.userLocked,
      logouts: this.auth.logouts,
      historyCalls: this.log.historyCalls,
      listCalls: this.log.listCalls,
    };
  }

  resetStats(): void {
    this.loginFaults.clear();
    this.log.reset();
    this.auth.resetCounters();
  }
}
