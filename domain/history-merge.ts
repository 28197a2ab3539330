/**
 * The newest-first order of upgrade records, and the merge of live and archived records that a history
 * answer is.
 */
import type { UpgradeRecord } from './upgrade-record';

/**
 * Newest first: by startDate, then upgradeStartTime, then id, each descending. ThingSpace's dates are
 * ISO-8601 strings, so string order is time order. An upgrade that has not started yet has an empty
 * upgradeStartTime and is the newest event of its day, so it sorts before the started ones.
 */
export function compareNewestFirst(a: UpgradeRecord, b: UpgradeRecord): number {
  return (
    descending(a.startDate, b.startDate) ||
    descendingEmptyFirst(a.upgradeStartTime, b.upgradeStartTime) ||
    descending(a.id, b.id)
  );
}

/**
 * The union of what ThingSpace returns now and what the archive holds, one record per upgrade id.
 * The live version wins: it is the newest observation of that upgrade.
 */
export function mergeHistory(live: readonly UpgradeRecord[], archived: readonly UpgradeRecord[]): UpgradeRecord[] {
  const byId = new Map<string, UpgradeRecord>();
  for (const record of archived) byId.set(record.id, record);
  for (const record of live) byId.set(record.id, record);
  return [...byId.values()].sort(compareNewestFirst);
}

function descending(a: string, b: string): number {
  return a === b ? 0 : a < b ? 1 : -1;
}

function descendingEmptyFirst(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '') return -1;
  if (b === '') return 1;
  return descending(a, b);
}
