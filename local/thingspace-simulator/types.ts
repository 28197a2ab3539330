/** The types the simulator's parts and its users share. */
import type { ThingSpaceCredentials } from '../../adapters/thingspace/credentials';

/** A device as the FOTA device list reports it. */
export interface SimulatedDevice {
  deviceId: string;
  mdn: string;
  model: string;
  make: string;
  /**
   * The firmware the device runs now: the target of its newest successful upgrade, else the firmware it
   * shipped with. Computed from the history when the list is served, like upgradeTime.
   */
  firmware: string;
  /** When the newest upgrade started, `MM/DD/YYYY H:M:S` (UTC); `01/01/1900 0:0:0` when never upgraded. */
  upgradeTime: string;
}

/**
 * What the simulator does instead of (or before) answering a FOTA call normally:
 * - `status`: answer with this status and body (a string is sent as is, anything else as JSON);
 * - `delay`: wait, then answer normally; `hang`: never answer (until the client gives up);
 * - `truncated`: the normal JSON cut in half; `wrong-shape`: valid JSON that is not the documented shape;
 * - `echo-tokens`: a careless upstream's 400 whose errorCode and errorMessage repeat the request's
 *   bearer token and M2M session token.
 */
export type FaultAction =
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: 'delay'; delayMs: number }
  | { kind: 'hang' }
  | { kind: 'truncated' }
  | { kind: 'wrong-shape' }
  | { kind: 'echo-tokens' };

export interface SimulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  credentials?: ThingSpaceCredentials;
  /** Added to every FOTA answer. */
  latencyMs?: number;
  tokenTtlSeconds?: number;
  sessionIdleSeconds?: number;
  /** Devices per page of the device list; ThingSpace uses 1,000. */
  pageSize?: number;
  /** How many requests the request log keeps (the oldest are dropped); counters are not limited. */
  requestLogLimit?: number;
  now?: () => number;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  status: number;
}

export interface SimulatorStats {
  requests: number;
  tokenRequests: number;
  tokensIssued: number;
  /** Every request that reached the login endpoint, whatever its answer (or none). */
  loginRequests: number;
  loginsOk: number;
  loginsFailed: number;
  consecutiveFailedLogins: number;
  userLocked: boolean;
  logouts: number;
  historyCalls: number;
  listCalls: number;
}
