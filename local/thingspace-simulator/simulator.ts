/**
 * A ThingSpace simulator over HTTP: ThingSpace's FOTA API as this service uses it, with switches for
 * tests.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ThingSpaceCredentials } from '../../adapters/thingspace/credentials';
import type { UpgradeRecord } from '../../domain/upgrade-record';
import { SimulatorCore } from './core';
import { sendJson } from './http-util';
import { route } from './router';
import type { SyntheticFleetOptions } from './synthetic-fleet';
import type { FaultAction, RequestLogEntry, SimulatedDevice, SimulatorOptions, SimulatorStats } from './types';

/** Demo credentials: fine in a local simulator, never valid anywhere else. */
export const DEMO_CREDENTIALS: ThingSpaceCredentials = Object.freeze({
  appKey: 'demo-app-key',
  appSecret: 'demo-app-secret',
  username: 'demo-uws-user',
  password: 'demo-uws-password',
});

/** A running simulator: its URL, its data, its test switches and what it saw. */
export class ThingSpaceSimulator {
  readonly url: string;
  readonly port: number;

  constructor(
    private readonly server: Server,
    private readonly core: SimulatorCore,
  ) {
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.port = address.port;
    this.url = `http://${host}:${address.port}`;
  }

  // --- data ---
  addAccount(account: string): void {
    this.core.fleet.addAccount(account);
  }

  /** Replaces a device's live history; registers the account and device when new. */
  setHistory(
    account: string,
    deviceId: string,
    records: readonly UpgradeRecord[],
    device?: Partial<SimulatedDevice>,
  ): void {
    this.core.fleet.setHistory(account, deviceId, records, device);
    this.core.callbacks.notify(
      account,
      records.length > 0
        ? records.map((record) => ({ deviceId, id: record.id, status: record.status }))
        : [{ deviceId }],
    );
  }

  /** A device with no upgrades (or, if known, the same upgrades and new device details). */
  addDevice(account: string, deviceId: string, device?: Partial<SimulatedDevice>): void {
    this.core.fleet.addDevice(account, deviceId, device);
  }

  /** `size` devices with deterministic 15-digit ids and histories, generated on demand. */
  addSyntheticFleet(account: string, options: SyntheticFleetOptions): { deviceIdAt(index: number): string } {
    const fleet = this.core.fleet.addSyntheticFleet(account, options);
    return { deviceIdAt: (index) => fleet.deviceIdAt(index) };
  }

  /** The live answer for a device (what ThingSpace would return now), or undefined for an unknown account. */
  liveHistory(account: string, deviceId: string): UpgradeRecord[] | undefined {
    return this.core.fleet.history(account, deviceId);
  }

  /** Changes one record; a callback listener registered for the account is told (as ThingSpace would). */
  updateRecord(account: string, deviceId: string, id: string, changes: Partial<UpgradeRecord>): boolean {
    const updated = this.core.fleet.updateRecord(account, deviceId, id, changes);
    if (updated) this.core.callbacks.notify(account, [{ deviceId, id, status: changes.status }]);
    return updated;
  }

  /** The callback listener registered for an account, as ThingSpace keeps it (with its credentials). */
  registerCallback(account: string, listener: { url: string; username?: string; password?: string }): void {
    this.core.callbacks.register(account, { name: 'Fota', ...listener });
  }

  /** Callbacks delivered (or attempted) so far, oldest first. */
  callbacksSent() {
    return this.core.callbacks.sentCallbacks();
  }

  /** Resolves once every callback delivery started so far has finished. */
  callbacksSettled(): Promise<void> {
    return this.core.callbacks.settled();
  }

  removeRecord(account: string, deviceId: string, id: string): boolean {
    return this.core.fleet.removeRecord(account, deviceId, id);
  }

  /** Upgrades that started before `day` (YYYY-MM-DD) leave the live answer: the six-month window. */
  setLiveSince(account: string, day: string | undefined): void {
    this.core.fleet.setLiveSince(account, day);
  }

  /** The key pair and API user the simulator accepts from now on (rotation, or a changed password). */
  setCredentials(credentials: ThingSpaceCredentials): void {
    this.core.auth.setCredentials(credentials);
  }

  // --- switches ---
  expireAccessTokens(): void {
    this.core.auth.expireTokens();
  }

  expireSessions(): void {
    this.core.auth.expireSessions();
  }

  /** What only Verizon support can do in real life. */
  unlockUser(): void {
    this.core.auth.unlockUser();
  }

  injectFault(action: FaultAction, count = 1, deviceId?: string): void {
    this.core.faults.add(action, count, deviceId);
  }

  /** The next `count` logins get `action`: e.g. `{kind:'status',status:401}`, or a verdict after `delay`. */
  injectLoginFault(action: FaultAction, count = 1): void {
    this.core.loginFaults.add(action, count);
  }

  failNext(count: number, status: number, options: { body?: unknown; retryAfterSeconds?: number } = {}): void {
    const headers: Record<string, string> =
      options.retryAfterSeconds === undefined ? {} : { 'retry-after': String(options.retryAfterSeconds) };
    this.injectFault({ kind: 'status', status, body: options.body, headers }, count);
  }

  slowNext(count: number, delayMs: number): void {
    this.injectFault({ kind: 'delay', delayMs }, count);
  }

  /** The next calls never get an answer; the client has to time out. */
  hangNext(count: number): void {
    this.injectFault({ kind: 'hang' }, count);
  }

  malformNext(count: number, kind: 'truncated' | 'wrong-shape' = 'truncated'): void {
    this.injectFault({ kind }, count);
  }

  /** Every history call for this device gets `action` (undefined clears it). */
  setDeviceFault(deviceId: string, action: FaultAction | undefined): void {
    this.core.faults.setForDevice(deviceId, action);
  }

  setLatency(latencyMs: number): void {
    this.core.faults.latencyMs = latencyMs;
  }

  /** Clears faults and counters; data, credentials, tokens and sessions stay. */
  reset(): void {
    this.core.faults.clear();
    this.core.resetStats();
  }

  // --- what it saw ---
  stats(): SimulatorStats {
    return this.core.stats();
  }

  /** Every access token and session token this simulator has issued (for searching logs for leaks). */
  issuedTokens(): string[] {
    return [...this.core.auth.issued];
  }

  requests(): RequestLogEntry[] {
    return this.core.log.list();
  }

  historyCallsFor(deviceId: string): number {
    return this.core.log.historyCallsFor(deviceId);
  }

  close(): Promise<void> {
    this.core.cancelWaits();
    return new Promise((resolve, reject) => {
      this.server.close((error) => (error ? reject(error) : resolve()));
      // Hung and keep-alive connections would otherwise hold close() open.
      this.server.closeAllConnections();
    });
  }
}

export async function startThingSpaceSimulator(options: SimulatorOptions = {}): Promise<ThingSpaceSimulator> {
  const core = new SimulatorCore(options.credentials ?? DEMO_CREDENTIALS, options);
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const simulator = new ThingSpaceSimulator(server, core);
  server.on('request', (request, response) => {
    const path = new URL(request.url ?? '/', 'http://simulator').pathname;
    response.on('close', () => {
      if (path.startsWith('/_simulator/')) return;
      core.log.record({
        method: request.method ?? 'GET',
        path,
        status: response.writableFinished ? response.statusCode : 0,
      });
    });
    route(simulator, core, request, response).catch(() => {
      sendJson(response, 500, { errorCode: 'SIMULATOR_ERROR', errorMessage: 'The simulator failed to answer' });
    });
  });
  return simulator;
}
