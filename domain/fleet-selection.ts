/**
 * The fleet sync's change-aware selection: whether a pass asks ThingSpace for a device's history, from
 * what the device list says now and what the device's sync state recorded.
 */
import type { DeviceSyncState } from './ports';

/** What ThingSpace's device list says about a device: enough to tell whether its history can have changed. */
export interface ListedDevice {
  deviceId: string;
  /** The firmware the device runs now ('' when the list does not say). */
  firmware: string;
  /** When the device was last upgraded, in ThingSpace's `MM/DD/YYYY H:M:S` ('' when the list does not say). */
  upgradeTime: string;
}

/** The device list's `upgradeTime` of a device that was never upgraded. */
export const NEVER_UPGRADED_TIME = '01/01/1900 0:0:0';
/** The longest device-list `firmware` or `upgradeTime` kept as it is (they are stored on every SYNC item). */
export const MAX_LISTED_FIELD_LENGTH = 256;

/** Only a success is final: ThingSpace may report an OMA-DM upgrade as failed and later as successful. */
const FINAL_UPGRADE_STATUS = 'UpgradeSuccess';

export const DEFAULT_FULL_RESYNC_DAYS = 7;
const MAX_FULL_RESYNC_DAYS = 30;

/** Why a device's history is asked for in this pass. */
export type AskReason =
  /** (a) never synced successfully. */
  | 'never-synced'
  /** (b) the list's firmware or upgradeTime differs from what it said at the last successful sync. */
  | 'list-changed'
  /** (c) an archived upgrade of the last six months is not final yet. */
  | 'unfinished-upgrade'
  /** (d) not fully synced for fullResyncDays. */
  | 'full-resync-due'
  /** `--full` (or `{"full": true}` on the discovery message): every device is asked. */
  | 'full-pass';

/** Why a device is not asked in this pass. */
export type SkipReason =
  /** Synced before, and nothing that could reveal a change has changed. */
  | 'unchanged'
  /** Never upgraded and nothing archived: nothing to ask about; counts as synced. */
  | 'never-upgraded';

export const ASK_REASONS: readonly AskReason[] = [
  'never-synced',
  'list-changed',
  'unfinished-upgrade',
  'full-resync-due',
  'full-pass',
];
export const SKIP_REASONS: readonly SkipReason[] = ['unchanged', 'never-upgraded'];

export type SyncSelection = { ask: true; reason: AskReason } | { ask: false; reason: SkipReason };

export interface SelectionPolicy {
  now: Date;
  /** (d): a device not fully synced for this many days is asked again (1 to MAX_FULL_RESYNC_DAYS). */
  fullResyncDays: number;
  /** Ask every device (the never-upgraded exception still holds). */
  fullPass?: boolean;
}

const DAY_MS = 86_400_000;

function isNeverUpgraded(listed: ListedDevice): boolean {
  return listed.upgradeTime.trim() === NEVER_UPGRADED_TIME;
}

/**
 * Whether the archive must be looked at before `selectForSync` can decide: a never-upgraded device is
 * skipped only if nothing is archived for it, and its sync state (when it has one) records that count.
 */
export function needsArchiveCheck(listed: ListedDevice, state: DeviceSyncState | undefined): boolean {
  return isNeverUpgraded(listed) && state?.archivedUpgrades === undefined;
}

/**
 * Whether a pass asks ThingSpace for this device's history. `archivedUpgrades` is how many upgrades the
 * archive holds for it, when known (from its sync state or from a look at the archive).
 */
export function selectForSync(
  listed: ListedDevice,
  state: DeviceSyncState | undefined,
  archivedUpgrades: number | undefined,
  policy: SelectionPolicy,
): SyncSelection {
  const archived = archivedUpgrades ?? state?.archivedUpgrades;
  if (isNeverUpgraded(listed) && archived === 0) return { ask: false, reason: 'never-upgraded' };
  if (policy.fullPass) return { ask: true, reason: 'full-pass' };
  if (!state?.lastFullSyncAt) return { ask: true, reason: 'never-synced' };
  const seen = state.listed;
  if (!seen || seen.firmware !== listed.firmware || seen.upgradeTime !== listed.upgradeTime) {
    return { ask: true, reason: 'list-changed' };
  }
  if (state.newestUnfinishedStartDate !== undefined && state.newestUnfinishedStartDate >= sixMonthsBefore(policy.now)) {
    return { ask: true, reason: 'unfinished-upgrade' };
  }
  const age = policy.now.getTime() - Date.parse(state.lastFullSyncAt);
  if (!(age < policy.fullResyncDays * DAY_MS)) return { ask: true, reason: 'full-resync-due' };
  return { ask: false, reason: 'unchanged' };
}

/** The first day (YYYY-MM-DD, UTC) of ThingSpace's six-month window at `now`. */
export function sixMonthsBefore(now: Date): string {
  const cutoff = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 6, now.getUTCDate()));
  return cutoff.toISOString().slice(0, 10);
}

export interface UpgradeSummary {
  /** Distinct upgrades, archived or live. */
  archivedUpgrades: number;
  /** The newest startDate of an upgrade whose status is not final, if any. */
  newestUnfinishedStartDate?: string;
}

/**
 * What a successful sync records for (c) and for the never-upgraded exception, so the next pass decides
 * from the sync state alone instead of reading every device's upgrades. An unfinished upgrade without a
 * start date counts as started on `today`.
 */
export function summariseUpgrades(
  upgrades: Iterable<{ id: string; status: string; startDate: string }>,
  today: string,
): UpgradeSummary {
  const ids = new Set<string>();
  let newestUnfinished: string | undefined;
  for (const upgrade of upgrades) {
    ids.add(upgrade.id);
    if (upgrade.status === FINAL_UPGRADE_STATUS) continue;
    const day = /^\d{4}-\d{2}-\d{2}/.test(upgrade.startDate) ? upgrade.startDate.slice(0, 10) : today;
    if (newestUnfinished === undefined || day > newestUnfinished) newestUnfinished = day;
  }
  const summary: UpgradeSummary = { archivedUpgrades: ids.size };
  if (newestUnfinished !== undefined) summary.newestUnfinishedStartDate = newestUnfinished;
  return summary;
}

/** `fullResyncDays` from the environment or context: a whole number from 1 to 30, 7 when unset. */
export function parseFullResyncDays(value: unknown, name = 'fullResyncDays'): number {
  if (value === undefined || value === null || value === '') return DEFAULT_FULL_RESYNC_DAYS;
  const days = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isInteger(days) || days < 1 || days > MAX_FULL_RESYNC_DAYS) {
    throw new Error(
      `${name} must be a whole number of days from 1 to ${MAX_FULL_RESYNC_DAYS}, got ${JSON.stringify(value)}`,
    );
  }
  return days;
}
