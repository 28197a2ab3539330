import { ApiError, ErrorCode } from '../domain/api-error';
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
 * A device's whole upgrade history: what ThingSpace shows now merged with everything archived.
 * Errors are ApiErrors in ThingSpace's shape: ThingSpace's own refusals pass through; an unreachable
 * ThingSpace is answered from the archive when it has something (stale), and otherwise with 502/504.
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
      throw new ApiError(503, ErrorCode.archiveUnavailable, 'The history archive is unavailable; retry later', {
        cause: error,
      });
    }
    throw error;
  }

  const archivedRecords = observation.archived.map((upgrade) => upgrade.record);
  if (observation.kind === 'live') {
    return { records: mergeHistory(observation.live, archivedRecords), stale: false, archive: observation.archive };
  }

  const failure = observation.error;
  if (failure.failure === 'rejected') {
    throw upstreamRejection(failure);
  }
  if (archivedRecords.length > 0) {
    return { records: mergeHistory([], archivedRecords), stale: true, upstreamFailure: failure };
  }
  throw upstreamUnavailable(failure);
}

/** ThingSpace refused the request itself (e.g. INVALID_PARAMETER): the caller sees what ThingSpace said. */
function upstreamRejection(failure: ThingSpaceError): ApiError {
  const status = failure.details.status ?? 400;
  return new ApiError(
    status >= 400 && status < 500 ? status : 400,
    failure.details.errorCode ?? `UPSTREAM_HTTP_${status}`,
    failure.details.errorMessage ?? 'ThingSpace rejected the request',
    { cause: failure },
  );
}

function upstreamUnavailable(failure: ThingSpaceError): ApiError {
  switch (failure.failure) {
    case 'timeout':
      return new ApiError(
        504,
        ErrorCode.upstreamTimeout,
        'ThingSpace did not answer in time and nothing is archived for this device',
        { cause: failure },
      );
    case 'credentials':
      return new ApiError(
        502,
        ErrorCode.credentialsUnavailable,
        'This service could not read its ThingSpace credentials (the secret); ThingSpace was not called and nothing is archived for this device',
        { cause: failure },
      );
    case 'auth':
      return new ApiError(
        502,
        ErrorCode.upstreamAuthFailed,
        "ThingSpace refused this service's credentials and nothing is archived for this device",
        { cause: failure },
      );
    case 'malformed':
      return new ApiError(
        502,
        ErrorCode.upstreamUnavailable,
        'ThingSpace answered with malformed data and nothing is archived for this device',
        { cause: failure },
      );
    default:
      return new ApiError(
        502,
        ErrorCode.upstreamUnavailable,
        'ThingSpace is unavailable and nothing is archived for this device',
        { cause: failure },
      );
  }
}
