/**
 * One pass over an account on one machine, with the services the deployed workers run: discovery pages
 * the device list, selects the devices that can have changed (domain/fleet-selection.ts; all of them
 * with `full`) into an in-process pool, which syncs each through syncDevice (the archive code the API
 * uses). It syncs every device it can; failures are collected, never thrown.
 */
import { randomUUID } from 'node:crypto';
import { type AskReason, DEFAULT_FULL_RESYNC_DAYS, type SkipReason } from '../domain/fleet-selection';
import type { DeviceKey } from '../domain/upgrade-record';
import { type DeviceSyncRequest, discoverFleet } from '../services/discover-fleet';
import type { HistoryDependencies } from '../services/observe-device';
import { DeviceSyncError, syncDevice } from '../services/sync-device';
import { InProcessSyncPool } from './in-process-sync-pool';
import { deviceContext } from './local-logging';

/**
 * Devices synced at once on one machine. A device costs one ThingSpace call and a few store calls, so
 * the pass waits on ThingSpace most of the time: at 50 ms of ThingSpace latency 8 in flight reached
 * ~87 devices/s, 16 ~133/s and 32 ~165/s (on 2 vCPUs, where the embedded store then takes the CPU).
 * 16 keeps most of that gain while asking ThingSpace for at most 16 histories at once, well under the
 * deployed sync's 5 workers x 10 messages. Raise it with --concurrency for a slow ThingSpace.
 */
export const DEFAULT_SYNC_CONCURRENCY = 16;
const DEVICE_TIMEOUT_MS = 60_000;

interface FailedDevice {
  device: DeviceKey;
  errorCode: string;
}

export interface SyncPassOptions {
  concurrency?: number;
  /** As each device-list page is queued for sync, with the number of devices listed so far. */
  onDiscovered?: (devicesDiscovered: number) => void;
  /** After each device, whether it synced or failed, with the failures so far. */
  onDeviceDone?: (failures: number) => void;
  /** When the device list has ended (or failed): the total is known from here on. */
  onListingDone?: (devicesDiscovered: number) => void;
  /** Aborting stops listing and starting devices; devices in flight finish. */
  signal?: AbortSignal;
  /** Ask every device's history (except never-upgraded ones with nothing archived). */
  full?: boolean;
  /** (d) of the change-aware selection (FULL_RESYNC_DAYS); 7 when omitted. */
  fullResyncDays?: number;
}

/** Failed devices named one by one in a pass's result (and summary); the rest are counted by errorCode. */
export const MAX_FAILURES_KEPT = 20;

export interface SyncPassResult {
  account: string;
  /** Devices the device list named. */
  listed: number;
  /** Devices whose history was asked for (the others were skipped): `discovered` for older callers. */
  discovered: number;
  asked: number;
  askedByReason: Partial<Record<AskReason, number>>;
  skipped: Partial<Record<SkipReason, number>>;
  synced: number;
  /** Devices that could not be synced. */
  /** The first MAX_FAILURES_KEPT devices that could not be synced: examples, not the whole list. */
  failed: FailedDevice[];
  /** Every device that could not be synced, by errorCode. */
  failedByCode: Record<string, number>;
  failedCount: number;
  /** Why the account's device list could not be read to its end (the account's failure, not a device's). */
  listingError?: string;
  /** The pass was interrupted (Ctrl-C): devices listed but not started are neither synced nor failed. */
  interrupted?: boolean;
  seconds: number;
}

export async function runSyncPass(
  account: string,
  dependencies: HistoryDependencies,
  options: SyncPassOptions = {},
): Promise<SyncPassResult> {
  const started = Date.now();
  const failed: FailedDevice[] = [];
  const failedByCode: Record<string, number> = {};
  let failedCount = 0;
  let synced = 0;
  let discovered = 0;
  let enqueued = 0;
  let listed = 0;
  let askedByReason: SyncPassResult['askedByReason'] = {};
  let skipped: SyncPassResult['skipped'] = {};
  const signal = options.signal;
  const pool = new InProcessSyncPool<DeviceSyncRequest>(async ({ listed: entry, ...device }) => {
    if (signal?.aborted) return;
    try {
      // Warnings logged while this device syncs name it (local/local-logging.ts).
      await deviceContext.run(device, () =>
        syncDevice(device, dependencies, { deadline: Date.now() + DEVICE_TIMEOUT_MS, listed: entry }),
      );
      synced += 1;
    } catch (error) {
      const errorCode = error instanceof DeviceSyncError ? error.errorCode : (error as Error).name;
      failedCount += 1;
      failedByCode[errorCode] = (failedByCode[errorCode] ?? 0) + 1;
      // A fleet with ThingSpace down fails every device: keep counts, and a few examples only.
      if (failed.length < MAX_FAILURES_KEPT) failed.push({ device, errorCode });
    }
    options.onDeviceDone?.(failedCount);
  }, options.concurrency ?? DEFAULT_SYNC_CONCURRENCY);

  let discoveryError: unknown;
  try {
    const outcome = await discoverFleet(
      account,
      {
        thingspace: dependencies.thingspace,
        store: dependencies.store,
        syncQueue: {
          enqueue: async (devices) => {
            if (signal?.aborted) throw new Error('interrupted');
            // Reported before the devices start, so the display never shows more done than listed.
            enqueued += devices.length;
            options.onDiscovered?.(enqueued);
            await pool.enqueue(devices);
          },
        },
      },
      {
        runId: randomUUID(),
        // This pass's queue lives in memory: a pass that died with it cannot be resumed, only replaced.
        replaceRunning: true,
        full: options.full,
        fullResyncDays: options.fullResyncDays ?? DEFAULT_FULL_RESYNC_DAYS,
        onPage: (checkpoint) => {
          discovered = checkpoint.devicesEnqueued;
          listed = checkpoint.devicesListed ?? 0;
          askedByReason = checkpoint.asked ?? {};
          skipped = checkpoint.skipped ?? {};
        },
      },
    );
    if (outcome.state !== 'done') discoveryError = new Error(`discovery ${outcome.state}`);
  } catch (error) {
    if (!options.signal?.aborted) discoveryError = error;
  }
  if (!signal?.aborted && !discoveryError) options.onListingDone?.(discovered);
  await pool.drain();
  const interrupted = signal?.aborted === true;
  return {
    account,
    listed,
    discovered,
    asked: discovered,
    askedByReason,
    skipped,
    synced,
    failed,
    failedByCode,
    failedCount,
    ...(discoveryError && !interrupted ? { listingError: describeError(discoveryError) } : {}),
    ...(interrupted ? { interrupted } : {}),
    seconds: (Date.now() - started) / 1000,
  };
}

function describeError(error: unknown): string {
  const details = (error as { details?: { errorCode?: string; errorMessage?: string } }).details;
  if (details?.errorCode) return `${details.errorCode}${details.errorMessage ? ` (${details.errorMessage})` : ''}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
