/**
 * A device's whole upgrade history, as the history route and the direct invoke answer it: what ThingSpace
 * shows now merged with everything archived.
 */
import { FailureError, upstreamFailure } from '../domain/failure';
import { mergeHistory } from '../domain/history-merge';
import type { ArchiveResult, CallOptions } from '../domain/ports';
import type { ThingSpaceError } from '../domain/thingspace-error';
import type { DeviceKey, UpgradeRecord } from '../domain/upgrade-record';
import { ArchiveUnavailableError, type HistoryDependencies, observeDevice } from './observe-device';

export interface DeviceHistory {
  /** ThingSpace-shaped records, live and archived, one per upgrade id, newest first. */
  records: UpgradeRecord[];
  /** True when ThingSpace could not be asked and the records come from the archive alone. */
  stale: boolean;
  /** What the archive did with this observation; absent when ThingSpace was not reached. */
  archive?: ArchiveResult;
  /** Why the answer is stale. */
  upstreamFailure?: ThingSpaceError;
}

/**
 * Failures are FailureErrors: ThingSpace's own refusals, the archive unavailable, and an unreachable
 * ThingSpace when the archive has nothing for the device (with something archived, the answer is stale).
 */
export async function getDeviceHistory(
  device: DeviceKey,
  dependencies: HistoryDependencies,
  options: CallOptions = {},
): Promise<DeviceHistory> {
  let observation;
  try {
    observation = await observeDevice(device, dependencies, options);
  } catch (error) {
    if (error instanceof ArchiveUnavailableError) {
      throw new FailureError({ kind: 'archive-unavailable' }, error.message, { cause: error });
    }
    throw error;
  }

  const archivedRecords = observation.archived.map((upgrade) => upgrade.record);
  if (observation.kind === 'live') {
    return { records: mergeHistory(observation.live, archivedRecords), stale: false, archive: observation.archive };
  }

  const failure = observation.error;
  if (failure.failure !== 'rejected' && archivedRecords.length > 0) {
    return { records: mergeHistory([], archivedRecords), stale: true, upstreamFailure: failure };
  }
  throw new FailureError(upstreamFailure(failure), failure.message, { cause: failure });
}
