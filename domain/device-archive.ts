/**
 * The answer of the archive's device route: one device's upgrades, each with its whole status log, and
 * how its last sync went.
 */
import { type ArchivedUpgrade, mergeStatusLog, type StatusLogEntry } from './archive-plan';
import { compareNewestFirst } from './history-merge';
import type { DeviceSyncState } from './ports';
import { type DeviceKey, toUpgradeRecord, type UpgradeRecord } from './upgrade-record';

/** One state of an upgrade as the archive observed it. */
interface StatusLogView {
  observedAt: string;
  status: string;
  reason: string;
  upgradeStartTime: string;
}

type ArchivedUpgradeView = UpgradeRecord & {
  firstSeenAt: string;
  /** When the current version was first observed: firstSeenAt until the record changes. */
  changedAt: string;
  statusLog: StatusLogView[];
};

export interface DeviceArchiveView {
  accountName: string;
  deviceId: string;
  lastSync: { syncedAt: string; outcome: 'success' | 'failure'; errorCode?: string } | null;
  upgrades: ArchivedUpgradeView[];
}

/** Status-log entries kept in items of their own (older entries of a long log), by upgrade id. */
export type DetachedStatusLog = ReadonlyMap<string, readonly StatusLogEntry[]>;

/**
 * What the archive knows about one device. An upgrade's log may be split between the item itself and
 * log items of their own (a long log's older entries are moved out); both are merged and deduplicated
 * by observedAt, since an entry may exist in both places for a moment while it is being moved.
 */
export function deviceArchiveView(
  device: DeviceKey,
  upgrades: readonly ArchivedUpgrade[],
  detached: DetachedStatusLog,
  sync: DeviceSyncState | undefined,
): DeviceArchiveView {
  const views = upgrades.map((upgrade) => upgradeView(upgrade, detached.get(upgrade.record.id) ?? []));
  views.sort(compareNewestFirst);
  return {
    accountName: device.account,
    deviceId: device.deviceId,
    lastSync: sync
      ? { syncedAt: sync.syncedAt, outcome: sync.outcome, ...(sync.errorCode ? { errorCode: sync.errorCode } : {}) }
      : null,
    upgrades: views,
  };
}

function upgradeView(upgrade: ArchivedUpgrade, detached: readonly StatusLogEntry[]): ArchivedUpgradeView {
  // The item's own entries win over a moved copy of the same observation.
  const statusLog = mergeStatusLog(upgrade.statusLog, detached).map(
    ({ observedAt, status, reason, upgradeStartTime }): StatusLogView => ({
      observedAt,
      status,
      reason,
      upgradeStartTime,
    }),
  );
  return {
    ...toUpgradeRecord(upgrade.record),
    firstSeenAt: upgrade.firstSeenAt,
    changedAt: upgrade.observedAt,
    statusLog,
  };
}
