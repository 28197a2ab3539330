/**
 * How upgrades, status-log entries, sync states and discovery checkpoints become table items, and how
 * they are read back, tolerating items written by hand or by an older version.
 */
import type { ArchivedUpgrade, StatusLogEntry } from '../../domain/archive-plan';
import type { DeviceSyncState, DiscoveryCheckpoint, SyncOutcome } from '../../domain/ports';
import {
  type DeviceKey,
  toUpgradeRecord,
  UPGRADE_RECORD_FIELDS,
  type UpgradeRecordField,
} from '../../domain/upgrade-record';
import { archiveIndexAttributes } from './archive-index-attributes';
import { ARCHIVE_ORDER_ATTRIBUTE } from './archive-indexes';
import {
  discoveryCheckpointKey,
  ITEM_TYPES,
  PARTITION_KEY,
  statusLogEntryKey,
  syncStateKey,
  upgradeKey,
} from './table-schema';

type Item = Record<string, unknown>;

export function upgradeToItem(device: DeviceKey, upgrade: ArchivedUpgrade): Item {
  return {
    ...upgradeKey(device, upgrade.record.id),
    ...toUpgradeRecord(upgrade.record),
    firstSeenAt: upgrade.firstSeenAt,
    observedAt: upgrade.observedAt,
    statusLog: upgrade.statusLog.map(toStatusLogItem),
    type: ITEM_TYPES.upgrade,
    ...archiveIndexAttributes(device, upgrade.record),
  };
}

/**
 * Tolerates a missing field (an item written by hand, or by an older version) as '' and drops log
 * entries that are not entries. An item without an upgrade id cannot be served or merged by id:
 * undefined, so one such item never breaks a device's reads.
 */
export function itemToUpgrade(item: Item): ArchivedUpgrade | undefined {
  if (typeof item.id !== 'string' || item.id === '') return undefined;
  const fields = {} as Record<UpgradeRecordField, string>;
  for (const field of UPGRADE_RECORD_FIELDS) fields[field] = asString(item[field]);
  return {
    record: toUpgradeRecord(fields),
    firstSeenAt: asString(item.firstSeenAt),
    observedAt: asString(item.observedAt),
    statusLog: Array.isArray(item.statusLog) ? item.statusLog.filter(isItem).map(fromStatusLogItem) : [],
  };
}

/**
 * The archive-index attributes a stored upgrade item lacks (one written before the indexes existed),
 * or undefined when it is not an upgrade item or carries them already. The backfill and the local
 * table migration both use it, so an old item gets exactly what upgradeToItem would write.
 */
export function missingArchiveIndexAttributes(item: Item): Record<string, string> | undefined {
  if (item.type !== ITEM_TYPES.upgrade || item[ARCHIVE_ORDER_ATTRIBUTE] !== undefined) return undefined;
  const match = /^DEVICE#([^#]+)#(.+)$/.exec(String(item[PARTITION_KEY]));
  const upgrade = itemToUpgrade(item);
  if (!match || !upgrade) return undefined;
  return archiveIndexAttributes({ account: match[1]!, deviceId: match[2]! }, upgrade.record);
}

/** A status-log entry moved to its own item; the upgrade id is an attribute so keys are never parsed. */
export function statusLogEntryToItem(device: DeviceKey, upgradeId: string, entry: StatusLogEntry): Item {
  return {
    ...statusLogEntryKey(device, upgradeId, entry.observedAt),
    upgradeId,
    ...toStatusLogItem(entry),
    type: ITEM_TYPES.statusLog,
  };
}

export function itemToStatusLogEntry(item: Item): { upgradeId: string; entry: StatusLogEntry } | undefined {
  if (typeof item.upgradeId !== 'string' || typeof item.observedAt !== 'string') return undefined;
  return { upgradeId: item.upgradeId, entry: fromStatusLogItem(item) };
}

function isItem(value: unknown): value is Item {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toStatusLogItem(entry: StatusLogEntry): Item {
  return {
    observedAt: entry.observedAt,
    status: entry.status,
    reason: entry.reason,
    upgradeStartTime: entry.upgradeStartTime,
    changedFields: [...entry.changedFields],
  };
}

function fromStatusLogItem(item: Item): StatusLogEntry {
  const known = new Set<string>(UPGRADE_RECORD_FIELDS);
  const changed = Array.isArray(item.changedFields) ? item.changedFields : [];
  return {
    observedAt: asString(item.observedAt),
    status: asString(item.status),
    reason: asString(item.reason),
    upgradeStartTime: asString(item.upgradeStartTime),
    changedFields: changed.filter(
      (field): field is UpgradeRecordField => typeof field === 'string' && known.has(field),
    ),
  };
}

export function syncStateToItem(device: DeviceKey, outcome: SyncOutcome): Item {
  return {
    ...syncStateKey(device),
    account: device.account,
    deviceId: device.deviceId,
    syncedAt: outcome.syncedAt,
    outcome: outcome.outcome,
    upgradesSeen: outcome.upgradesSeen,
    errorCode: outcome.errorCode,
    // What the fleet sync's change-aware selection compares (domain/fleet-selection.ts).
    listedFirmware: outcome.listed?.firmware,
    listedUpgradeTime: outcome.listed?.upgradeTime,
    lastFullSyncAt: outcome.lastFullSyncAt,
    archivedUpgrades: outcome.archivedUpgrades,
    newestUnfinishedStartDate: outcome.newestUnfinishedStartDate,
    type: ITEM_TYPES.sync,
  };
}

export function itemToSyncState(item: Item): DeviceSyncState {
  const state: DeviceSyncState = {
    account: asString(item.account),
    deviceId: asString(item.deviceId),
    syncedAt: asString(item.syncedAt),
    outcome: item.outcome === 'success' ? 'success' : 'failure',
  };
  if (typeof item.upgradesSeen === 'number') state.upgradesSeen = item.upgradesSeen;
  if (typeof item.errorCode === 'string') state.errorCode = item.errorCode;
  if (typeof item.listedFirmware === 'string' && typeof item.listedUpgradeTime === 'string') {
    state.listed = { firmware: item.listedFirmware, upgradeTime: item.listedUpgradeTime };
  }
  if (typeof item.lastFullSyncAt === 'string') state.lastFullSyncAt = item.lastFullSyncAt;
  if (typeof item.archivedUpgrades === 'number') state.archivedUpgrades = item.archivedUpgrades;
  if (typeof item.newestUnfinishedStartDate === 'string')
    state.newestUnfinishedStartDate = item.newestUnfinishedStartDate;
  return state;
}

export function checkpointToItem(checkpoint: DiscoveryCheckpoint): Item {
  return {
    ...discoveryCheckpointKey(checkpoint.account),
    account: checkpoint.account,
    runId: checkpoint.runId,
    startedAt: checkpoint.startedAt,
    nextIndex: checkpoint.nextIndex,
    pagesDone: checkpoint.pagesDone,
    devicesEnqueued: checkpoint.devicesEnqueued,
    state: checkpoint.state,
    updatedAt: checkpoint.updatedAt,
    devicesListed: checkpoint.devicesListed,
    asked: checkpoint.asked,
    skipped: checkpoint.skipped,
    full: checkpoint.full,
    type: ITEM_TYPES.discovery,
  };
}

export function itemToCheckpoint(item: Item): DiscoveryCheckpoint {
  const checkpoint: DiscoveryCheckpoint = {
    account: asString(item.account),
    runId: asString(item.runId),
    startedAt: asString(item.startedAt),
    nextIndex: asString(item.nextIndex),
    pagesDone: asNumber(item.pagesDone),
    devicesEnqueued: asNumber(item.devicesEnqueued),
    state: item.state === 'done' ? 'done' : 'running',
    updatedAt: asString(item.updatedAt),
  };
  if (typeof item.devicesListed === 'number') checkpoint.devicesListed = item.devicesListed;
  if (isCountMap(item.asked)) checkpoint.asked = item.asked;
  if (isCountMap(item.skipped)) checkpoint.skipped = item.skipped;
  if (item.full === true) checkpoint.full = true;
  return checkpoint;
}

function isCountMap(value: unknown): value is Record<string, number> {
  return (
    typeof value === 'object' && value !== null && Object.values(value).every((count) => typeof count === 'number')
  );
}

function asString(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function asNumber(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}
