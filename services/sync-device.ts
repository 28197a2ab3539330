import { ErrorCode } from '../domain/api-error';
import { summariseUpgrades } from '../domain/fleet-selection';
import type { ArchiveResult, CallOptions, ListedState, SyncOutcome } from '../domain/ports';
import type { DeviceKey } from '../domain/upgrade-record';
import { ArchiveUnavailableError, archiveCallOptions, type HistoryDependencies, observeDevice } from './observe-device';

export interface SyncResult {
  upgradesSeen: number;
  archive: ArchiveResult;
}

/**
 * A device that could not be synced. `retryable` failures (ThingSpace or the archive unavailable)
 * go back to the queue; the others (ThingSpace refused the device) would fail the same way again.
 */
export class DeviceSyncError extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DeviceSyncError';
  }
}

/**
 * Archives what ThingSpace shows for one device now, with the same code path as the API, and
 * remembers on the device when it was last synced and how that went.
 */
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
      throw new DeviceSyncError(ErrorCode.archiveUnavailable, error.message, true, { cause: error });
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
  const errorCode =
    failure.failure === 'rejected'
      ? (failure.details.errorCode ?? `UPSTREAM_HTTP_${failure.details.status ?? 400}`)
      : failure.failure === 'timeout'
        ? ErrorCode.upstreamTimeout
        : failure.failure === 'auth'
          ? ErrorCode.upstreamAuthFailed
          : failure.failure === 'credentials'
            ? ErrorCode.credentialsUnavailable
            : ErrorCode.upstreamUnavailable;
  await dependencies.store.recordSyncOutcome(
    device,
    {
      ...(await lastSuccess(device, dependencies, archiveCallOptions(options))),
      syncedAt: now().toISOString(),
      outcome: 'failure',
      errorCode,
    },
    archiveCallOptions(options),
  );
  throw new DeviceSyncError(errorCode, failure.message, failure.failure !== 'rejected', { cause: failure });
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
