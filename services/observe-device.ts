import { planArchiveWrites, type ArchivedUpgrade } from '../domain/archive-plan';
import type { ArchiveResult, CallOptions, HistoryStore, ThingSpaceApi } from '../domain/ports';
import { isThingSpaceError, type ThingSpaceError } from '../domain/thingspace-error';
import type { DeviceKey, UpgradeRecord } from '../domain/upgrade-record';

export interface HistoryDependencies {
  thingspace: ThingSpaceApi;
  store: HistoryStore;
  now?: () => Date;
}

/** The archive could not be read or written: the service never answers without having archived. */
export class ArchiveUnavailableError extends Error {
  constructor(operation: 'read' | 'write', options: { cause: unknown }) {
    super(`the history archive could not be ${operation === 'read' ? 'read' : 'written'}`, options);
    this.name = 'ArchiveUnavailableError';
  }
}

export type DeviceObservation =
  | { kind: 'live'; live: UpgradeRecord[]; archived: ArchivedUpgrade[]; archive: ArchiveResult }
  | { kind: 'upstream-failed'; error: ThingSpaceError; archived: ArchivedUpgrade[] };

/**
 * The one path by which anything reaches the archive, shared by the API, direct invocations and the
 * fleet sync: ask ThingSpace and read the archive at the same time (so the archive read adds no
 * latency), then write only what is new or changed.
 */
export async function observeDevice(
  device: DeviceKey,
  dependencies: HistoryDependencies,
  options: CallOptions = {},
): Promise<DeviceObservation> {
  const { thingspace, store, now = () => new Date() } = dependencies;
  const [liveResult, archivedResult] = await Promise.allSettled([
    thingspace.getDeviceHistory(device, options).then((records) => ({ records, observedAt: now().toISOString() })),
    store.listUpgrades(device),
  ]);

  if (archivedResult.status === 'rejected') {
    throw new ArchiveUnavailableError('read', { cause: archivedResult.reason });
  }
  const archived = archivedResult.value;

  if (liveResult.status === 'rejected') {
    if (isThingSpaceError(liveResult.reason)) {
      return { kind: 'upstream-failed', error: liveResult.reason, archived };
    }
    throw liveResult.reason;
  }

  const { records: live, observedAt } = liveResult.value;
  const writes = planArchiveWrites(live, archived, observedAt);
  let written: ArchiveResult;
  try {
    written = await store.applyWrites(device, writes, options);
  } catch (cause) {
    throw new ArchiveUnavailableError('write', { cause });
  }
  const uniqueLive = new Set(live.map((record) => record.id)).size;
  return {
    kind: 'live',
    live,
    archived,
    archive: { ...written, unchanged: written.unchanged + (uniqueLive - writes.length) },
  };
}
