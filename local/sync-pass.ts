import { randomUUID } from 'node:crypto';
import type { DeviceKey } from '../domain/upgrade-record';
import { discoverFleet, type DeviceSyncQueue } from '../services/discover-fleet';
import type { HistoryDependencies } from '../services/observe-device';
import { DeviceSyncError, syncDevice } from '../services/sync-device';
import { InProcessSyncPool } from './in-process-sync-pool';

/**
 * Devices synced at once on one machine. A device costs one ThingSpace call and a few store calls, so
 * the pass waits on ThingSpace most of the time: at 50 ms of ThingSpace latency 8 in flight reached
 * ~87 devices/s, 16 ~133/s and 32 ~165/s (on 2 vCPUs, where the embedded store then takes the CPU).
 * 16 keeps most of that gain while asking ThingSpace for at most 16 histories at once, well under the
 * deployed sync's 5 workers x 10 messages. Raise it with --concurrency for a slow ThingSpace.
 */
export const DEFAULT_SYNC_CONCURRENCY = 16;
const DEVICE_TIMEOUT_MS = 60_000;

export interface FailedDevice {
  device: DeviceKey;
  errorCode: string;
}

export interface SyncPassOptions {
  concurrency?: number;
  /** After each device-list page, with the number of devices discovered so far. */
  onDiscovered?: (devicesDiscovered: number) => void;
  /** After each device, whether it synced or failed, with the failures so far. */
  onDeviceDone?: (failures: number) => void;
  /**
   * Stops the pass (Ctrl-C of npm run sync): no further page is discovered and no further device is
   * started; the devices in flight finish, so each archive write they make also gets its event.
   */
  signal?: AbortSignal;
}

export interface SyncPassResult {
  account: string;
  /** Devices the device list named. */
  discovered: number;
  synced: number;
  /** Devices that could not be synced, and `(device list)` when discovery itself failed. */
  failed: FailedDevice[];
  seconds: number;
  /** Devices discovered but not synced because the pass was stopped (options.signal). */
  notStarted: number;
}

/**
 * One full pass over an account on one machine, with the services the deployed workers run: discovery
 * pages the device list into an in-process pool, which syncs every device through syncDevice (the
 * archive code the API uses). It syncs every device it can; failures are collected, never thrown.
 */
export async function runSyncPass(
  account: string,
  dependencies: HistoryDependencies,
  options: SyncPassOptions = {},
): Promise<SyncPassResult> {
  const started = Date.now();
  const failed: FailedDevice[] = [];
  let synced = 0;
  let discovered = 0;
  let notStarted = 0;
  const pool = new InProcessSyncPool(async (device) => {
    if (options.signal?.aborted) {
      notStarted += 1;
      return;
    }
    try {
      await syncDevice(device, dependencies, { deadline: Date.now() + DEVICE_TIMEOUT_MS });
      synced += 1;
    } catch (error) {
      failed.push({ device, errorCode: error instanceof DeviceSyncError ? error.errorCode : (error as Error).name });
    }
    options.onDeviceDone?.(failed.length);
  }, options.concurrency ?? DEFAULT_SYNC_CONCURRENCY);

  let discoveryError: unknown;
  try {
    const outcome = await discoverFleet(
      account,
      { thingspace: dependencies.thingspace, store: dependencies.store, syncQueue: stoppable(pool, options.signal) },
      {
        runId: randomUUID(),
        // This pass's queue lives in memory: a pass that died with it cannot be resumed, only replaced.
        replaceRunning: true,
        onPage: (checkpoint) => {
          discovered = checkpoint.devicesEnqueued;
          options.onDiscovered?.(discovered);
        },
      },
    );
    if (outcome.state !== 'done') discoveryError = new Error(`discovery ${outcome.state}`);
  } catch (error) {
    if (!options.signal?.aborted) discoveryError = error;
  }
  await pool.drain();
  if (discoveryError) {
    failed.push({ device: { account, deviceId: '(device list)' }, errorCode: describeError(discoveryError) });
  }
  return { account, discovered, synced, failed, seconds: (Date.now() - started) / 1000, notStarted };
}

/** The pool, refusing further devices once the pass is stopped, which ends discovery at that page. */
function stoppable(pool: InProcessSyncPool, signal: AbortSignal | undefined): DeviceSyncQueue {
  return {
    enqueue: async (devices) => {
      signal?.throwIfAborted();
      await pool.enqueue(devices);
    },
  };
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
