/**
 * The archive write plan: what one observation of a device's live history means for the archive, and the
 * bounded status log each upgrade item keeps.
 */
import {
  changedFields,
  sameRecord,
  UPGRADE_RECORD_FIELDS,
  type UpgradeRecord,
  type UpgradeRecordField,
} from './upgrade-record';

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

/**
 * An upgrade as the archive keeps it. `statusLog` is the part of the log kept on the upgrade's own item
 * (see boundStatusLog); older entries live in their own items, and `mergeStatusLog` puts them together.
 */
export interface ArchivedUpgrade {
  record: UpgradeRecord;
  firstSeenAt: string;
  /** When the current version of `record` was observed; the optimistic-lock token for updates. */
  observedAt: string;
  statusLog: StatusLogEntry[];
}

/** The whole status log of one upgrade, oldest first, as merged from its item and its moved entries. */
export interface UpgradeStatusLog {
  upgradeId: string;
  statusLog: StatusLogEntry[];
}

export type ArchiveWrite =
  | { kind: 'insert'; next: ArchivedUpgrade }
  | {
      kind: 'update';
      expectedObservedAt: string;
      next: ArchivedUpgrade;
      logEntry: StatusLogEntry;
      /**
       * Entries of the stored log that no longer fit on the item. They must be stored in their own
       * items BEFORE the update lands, so that a crash between the two writes loses nothing (a reader
       * then sees them twice and dedupes by observedAt). Empty on the normal path: one write.
       */
      movedEntries: StatusLogEntry[];
      /** The stored version this update replaces (the one whose observedAt is expectedObservedAt). */
      previous: ArchivedUpgrade;
    };

/**
 * Latest entries kept on the upgrade item besides the first one. A real OMA-DM upgrade goes through a
 * handful of states (pending, in progress, failed, retried, succeeded), so 20 keeps the whole log of
 * virtually every upgrade on its item (one read shows it, and a change costs one write), while 21
 * entries of ThingSpace-sized reasons stay far below DynamoDB's 400 KB item limit. Only a device that
 * flaps more than 20 times pays one more write per change, for the entry that leaves the item.
 */
export const STATUS_LOG_LATEST_ON_ITEM = 20;

/**
 * What the record and the log kept on the item may weigh together (DynamoDB's size rules: UTF-8
 * bytes of names and values). Whatever the count, entries beyond this move out, so long reasons
 * can never push an item past the 400 KB limit; the rest of the limit is left to the keys, the
 * bookkeeping attributes and any index attributes.
 */
export const UPGRADE_ITEM_BUDGET_BYTES = 300 * 1024;

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
  const { kept, moved } = boundStatusLog(live, stored.statusLog, entry);
  return {
    kind: 'update',
    expectedObservedAt: stored.observedAt,
    next: { record: live, firstSeenAt: stored.firstSeenAt, observedAt, statusLog: kept },
    logEntry: entry,
    movedEntries: moved,
    previous: stored,
  };
}

/**
 * Splits the stored log plus the new entry into what stays on the item and what moves to entry items:
 * the item keeps the new entry, the first entry and the latest entries, at most STATUS_LOG_LATEST_ON_ITEM
 * latest ones and within UPGRADE_ITEM_BUDGET_BYTES. Only entries already stored on the item move, never
 * the new one, so an observation that loses a race leaves nothing behind.
 */
function boundStatusLog(
  record: UpgradeRecord,
  storedLog: readonly StatusLogEntry[],
  newEntry: StatusLogEntry,
): { kept: StatusLogEntry[]; moved: StatusLogEntry[] } {
  let used = recordSize(record) + statusLogEntrySize(newEntry);
  const [first, ...rest] = storedLog;
  const keepFirst = first !== undefined && used + statusLogEntrySize(first) <= UPGRADE_ITEM_BUDGET_BYTES;
  if (keepFirst) used += statusLogEntrySize(first);
  // Walk back from the newest, stopping at the first entry that does not fit: the kept tail stays contiguous.
  let tailStart = rest.length;
  while (tailStart > 0 && rest.length - tailStart + 1 < STATUS_LOG_LATEST_ON_ITEM) {
    const size = statusLogEntrySize(rest[tailStart - 1]!);
    if (used + size > UPGRADE_ITEM_BUDGET_BYTES) break;
    used += size;
    tailStart -= 1;
  }
  const tail = rest.slice(tailStart);
  const moved = [...(first !== undefined && !keepFirst ? [first] : []), ...rest.slice(0, tailStart)];
  return { kept: [...(keepFirst ? [first] : []), ...tail, newEntry], moved };
}

/**
 * An upgrade's whole log from the entries on its item and those moved to their own items: one entry per
 * observedAt (an entry can be in both places after a crash between the move and the trim), oldest first.
 */
export function mergeStatusLog(...parts: ReadonlyArray<readonly StatusLogEntry[]>): StatusLogEntry[] {
  const byObservedAt = new Map<string, StatusLogEntry>();
  for (const part of parts)
    for (const entry of part) if (!byObservedAt.has(entry.observedAt)) byObservedAt.set(entry.observedAt, entry);
  return [...byObservedAt.values()].sort((a, b) =>
    a.observedAt < b.observedAt ? -1 : a.observedAt > b.observedAt ? 1 : 0,
  );
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

/** Bytes a string weighs in DynamoDB: its UTF-8 length (counted without allocating an encoded copy). */
function utf8Bytes(value: string): number {
  let bytes = 0;
  for (let index = 0; index < value.length; index += 1) {
    const code = value.charCodeAt(index);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && index + 1 < value.length) {
      bytes += 4;
      index += 1;
    } else bytes += 3;
  }
  return bytes;
}

/** Per value, DynamoDB adds a few bytes of type and length overhead inside lists and maps. */
const VALUE_OVERHEAD_BYTES = 3;

function recordSize(record: UpgradeRecord): number {
  let size = 0;
  for (const field of UPGRADE_RECORD_FIELDS) size += utf8Bytes(field) + utf8Bytes(record[field]) + VALUE_OVERHEAD_BYTES;
  return size;
}

/** An estimate by DynamoDB's item-size rules of one entry inside the statusLog list. */
function statusLogEntrySize(entry: StatusLogEntry): number {
  let size = VALUE_OVERHEAD_BYTES;
  for (const [name, value] of [
    ['observedAt', entry.observedAt],
    ['status', entry.status],
    ['reason', entry.reason],
    ['upgradeStartTime', entry.upgradeStartTime],
  ] as const) {
    size += utf8Bytes(name) + utf8Bytes(value) + VALUE_OVERHEAD_BYTES;
  }
  size += utf8Bytes('changedFields') + VALUE_OVERHEAD_BYTES;
  for (const field of entry.changedFields) size += utf8Bytes(field) + VALUE_OVERHEAD_BYTES;
  return size;
}
