import { ErrorCode } from '../domain/api-error';
import type { ArchiveResult, CallOptions } from '../domain/ports';
import type { DeviceKey } from '../domain/upgrade-record';
import { ArchiveUnavailableError, archiveCallOptions, observeDevice, type HistoryDependencies } from './observe-device';

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
export async function syncDevice(
  device: DeviceKey,
  dependencies: HistoryDependencies,
  options: CallOptions = {},
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
    await dependencies.store.recordSyncOutcome(
      device,
      { syncedAt: now().toISOString(), outcome: 'success', upgradesSeen },
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
          : ErrorCode.upstreamUnavailable;
  await dependencies.store.recordSyncOutcome(
    device,
    { syncedAt: now().toISOString(), outcome: 'failure', errorCode },
    archiveCallOptions(options),
  );
  throw new DeviceSyncError(errorCode, failure.message, failure.failure !== 'rejected', { cause: failure });
}
