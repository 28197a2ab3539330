import { changedFields, sameRecord, type UpgradeRecord, type UpgradeRecordField } from './upgrade-record';

/**
 * One line of an upgrade's status log: what the upgrade looked like when it was observed to change.
 * ThingSpace may report a failure for an OMA-DM upgrade that later succeeds, so the log keeps every
 * state the archive has seen, with the time it was seen.
 */
export interface StatusLogEntry {
  observedAt: string;
  status: string;
  reason: string;
  upgradeStartTime: string;
  /** The fields that differ from the previous state; empty for the first sighting. */
  changedFields: UpgradeRecordField[];
}

/** An upgrade as the archive keeps it. */
export interface ArchivedUpgrade {
  record: UpgradeRecord;
  firstSeenAt: string;
  /** When the current version of `record` was observed; the optimistic-lock token for updates. */
  observedAt: string;
  statusLog: StatusLogEntry[];
}

export type ArchiveWrite =
  | { kind: 'insert'; next: ArchivedUpgrade }
  | {
      kind: 'update';
      expectedObservedAt: string;
      next: ArchivedUpgrade;
      logEntry: StatusLogEntry;
      /** The stored version this update replaces (the one whose observedAt is expectedObservedAt). */
      previous: ArchivedUpgrade;
    };

function logEntry(record: UpgradeRecord, observedAt: string, fields: UpgradeRecordField[]): StatusLogEntry {
  return {
    observedAt,
    status: record.status,
    reason: record.reason,
    upgradeStartTime: record.upgradeStartTime,
    changedFields: fields,
  };
}

/**
 * What one live observation of one upgrade means for the archive:
 * - never seen: insert it, its status log starting with this sighting;
 * - seen and unchanged: nothing (re-reads must not cost writes);
 * - seen, changed, and this observation is newer than the stored one: update it and log the change;
 * - seen, but the stored version was observed at or after this one: nothing (older never overwrites newer).
 */
export function planUpgradeWrite(
  live: UpgradeRecord,
  stored: ArchivedUpgrade | undefined,
  observedAt: string,
): ArchiveWrite | undefined {
  if (!stored) {
    return {
      kind: 'insert',
      next: { record: live, firstSeenAt: observedAt, observedAt, statusLog: [logEntry(live, observedAt, [])] },
    };
  }
  if (sameRecord(stored.record, live)) return undefined;
  if (stored.observedAt >= observedAt) return undefined;
  const entry = logEntry(live, observedAt, changedFields(stored.record, live));
  return {
    kind: 'update',
    expectedObservedAt: stored.observedAt,
    next: { record: live, firstSeenAt: stored.firstSeenAt, observedAt, statusLog: [...stored.statusLog, entry] },
    logEntry: entry,
    previous: stored,
  };
}

/** The writes one observation of a device's live history needs, given what the archive holds. */
export function planArchiveWrites(
  live: readonly UpgradeRecord[],
  archived: readonly ArchivedUpgrade[],
  observedAt: string,
): ArchiveWrite[] {
  const storedById = new Map(archived.map((upgrade) => [upgrade.record.id, upgrade]));
  const writes: ArchiveWrite[] = [];
  for (const record of dedupeById(live)) {
    const write = planUpgradeWrite(record, storedById.get(record.id), observedAt);
    if (write) writes.push(write);
  }
  return writes;
}

/** ThingSpace should never repeat an id in one answer; if it does, the last occurrence is kept. */
function dedupeById(records: readonly UpgradeRecord[]): UpgradeRecord[] {
  return [...new Map(records.map((record) => [record.id, record])).values()];
}
