/**
 * The one path by which anything reaches the archive, shared by the API, direct invocations and the fleet
 * sync.
 */
import { setImmediate as afterPendingIo } from 'node:timers/promises';
import { type ArchivedUpgrade, planArchiveWrites } from '../domain/archive-plan';
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
 * Asks ThingSpace and reads the archive at the same time (so the archive read adds no latency), then
 * writes only what is new or changed. Archive calls are bounded by the store deadline;
 * a record the archive refuses for good is skipped (counted in `archive.skipped`) and still served.
 */
export async function observeDevice(
  device: DeviceKey,
  dependencies: HistoryDependencies,
  options: CallOptions = {},
): Promise<DeviceObservation> {
  const { thingspace, store, now = () => new Date() } = dependencies;
  const storeOptions = archiveCallOptions(options);
  const liveCall = thingspace
    .getDeviceHistory(device, options)
    .then((records) => ({ records, observedAt: now().toISOString() }));
  // Settled here so an upstream failure is never unhandled when the archive read fails first.
  const liveResult = liveCall.then(
    (value) => ({ status: 'fulfilled' as const, value }),
    (reason: unknown) => ({ status: 'rejected' as const, reason }),
  );

  let archived: ArchivedUpgrade[];
  try {
    // Started once ThingSpace's request is on the wire: begun at once, the store client's own work
    // (serializing, signing) ran between the steps of the upstream call and delayed it, and the upstream
    // call is what the answer waits for. The Query still finishes long before ThingSpace answers.
    await afterPendingIo();
    archived = await store.listUpgrades(device, storeOptions);
  } catch (cause) {
    // The archive's failure decides the outcome whatever ThingSpace says, so it is reported now, not after the upstream call.
    throw new ArchiveUnavailableError('read', { cause });
  }

  const live = await liveResult;
  if (live.status === 'rejected') {
    if (isThingSpaceError(live.reason)) {
      return { kind: 'upstream-failed', error: live.reason, archived };
    }
    throw live.reason;
  }

  const { records, observedAt } = live.value;
  const writes = planArchiveWrites(records, archived, observedAt);
  let written: ArchiveResult;
  try {
    written = await store.applyWrites(device, writes, storeOptions);
  } catch (cause) {
    throw new ArchiveUnavailableError('write', { cause });
  }
  const uniqueLive = new Set(records.map((record) => record.id)).size;
  return {
    kind: 'live',
    live: records,
    archived,
    archive: { ...written, unchanged: written.unchanged + (uniqueLive - writes.length) },
  };
}

/** What the archive's calls are bounded by: the store deadline when the caller gave one. */
export function archiveCallOptions(options: CallOptions): CallOptions {
  const deadline = options.storeDeadline ?? options.deadline;
  return deadline === undefined ? {} : { deadline };
}
