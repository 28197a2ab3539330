/**
 * Archives what ThingSpace shows for one device now, with the same code path as the API, and
 * remembers on the device when it was last synced and how that went.
 */
import { type Failure, FailureError, failureCode, upstreamFailure } from '../domain/failure';
import { summariseUpgrades } from '../domain/fleet-selection';
import type { ArchiveResult, CallOptions, ListedState, SyncOutcome } from '../domain/ports';
import type { DeviceKey } from '../domain/upgrade-record';
import { ArchiveUnavailableError, archiveCallOptions, type HistoryDependencies, observeDevice } from './observe-device';

export interface SyncResult {
  upgradesSeen: number;
  archive: ArchiveResult;
}

/**
 * A device that could not be synced, and why. Whether it is tried again is the worker's decision
 * (functions/commons/failure-table.ts); `errorCode` is what the device's sync state records.
 */
export class DeviceSyncError extends FailureError {
  readonly errorCode: string;

  constructor(failure: Failure, message: string, options?: { cause?: unknown }) {
    super(failure, message, options);
    this.name = 'DeviceSyncError';
    this.errorCode = failureCode(failure);
  }
}

export interface SyncDeviceOptions extends CallOptions {
  /** The device-list entry the fleet sync selected the device on; the next pass compares against it. */
  listed?: ListedState;
}

export async function syncDevice(
  device: DeviceKey,
  dependencies: HistoryDependencies,
  options: SyncDeviceOptions = {},
): Promise<SyncResult> {
  const now = dependencies.now ?? (() => new Date());
  let observation;
  try {
    observation = await observeDevice(device, dependencies, options);
  } catch (error) {
    if (error instanceof ArchiveUnavailableError) {
      throw new DeviceSyncError({ kind: 'archive-unavailable' }, error.message, { cause: error });
    }
    throw error;
  }

  if (observation.kind === 'live') {
    const upgradesSeen = observation.live.length;
    const syncedAt = now().toISOString();
    // The live version of an upgrade wins over the archived one, as in the merged answer.
    const merged = new Map(observation.archived.map((upgrade) => [upgrade.record.id, upgrade.record]));
    for (const record of observation.live) merged.set(record.id, record);
    await dependencies.store.recordSyncOutcome(
      device,
      {
        syncedAt,
        outcome: 'success',
        upgradesSeen,
        listed: options.listed,
        lastFullSyncAt: syncedAt,
        ...summariseUpgrades(merged.values(), syncedAt.slice(0, 10)),
      },
      archiveCallOptions(options),
    );
    return { upgradesSeen, archive: observation.archive };
  }

  const failure = observation.error;
  const syncError = new DeviceSyncError(upstreamFailure(failure), failure.message, { cause: failure });
  await dependencies.store.recordSyncOutcome(
    device,
    {
      ...(await lastSuccess(device, dependencies, archiveCallOptions(options))),
      syncedAt: now().toISOString(),
      outcome: 'failure',
      errorCode: syncError.errorCode,
    },
    archiveCallOptions(options),
  );
  throw syncError;
}

/**
 * What the last successful sync recorded, kept through a failure: the fleet sync's selection compares
 * the device list with the list at the last *successful* sync, so a failure must not erase it.
 */
async function lastSuccess(
  device: DeviceKey,
  dependencies: HistoryDependencies,
  options: CallOptions,
): Promise<Partial<SyncOutcome>> {
  const previous = await dependencies.store.getSyncState(device, options).catch(() => undefined);
  if (!previous) return {};
  const { listed, lastFullSyncAt, archivedUpgrades, newestUnfinishedStartDate } = previous;
  return { listed, lastFullSyncAt, archivedUpgrades, newestUnfinishedStartDate };
}
