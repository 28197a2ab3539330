import type { ArchivedUpgrade, StatusLogEntry } from '../../domain/archive-plan';
import type { DeviceSyncState, DiscoveryCheckpoint, SyncOutcome } from '../../domain/ports';
import {
  toUpgradeRecord,
  UPGRADE_RECORD_FIELDS,
  type DeviceKey,
  type UpgradeRecordField,
} from '../../domain/upgrade-record';
import { archiveIndexAttributes } from './archive-index-attributes';
import { discoveryCheckpointKey, ITEM_TYPES, syncStateKey, upgradeKey } from './table-schema';

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

/** Tolerates a missing field (an item written by hand, or by an older version) as ''. */
export function itemToUpgrade(item: Item): ArchivedUpgrade {
  const fields = {} as Record<UpgradeRecordField, string>;
  for (const field of UPGRADE_RECORD_FIELDS) fields[field] = asString(item[field]);
  return {
    record: toUpgradeRecord(fields),
    firstSeenAt: asString(item.firstSeenAt),
    observedAt: asString(item.observedAt),
    statusLog: Array.isArray(item.statusLog) ? item.statusLog.map((entry) => fromStatusLogItem(entry as Item)) : [],
  };
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
    changedFields: changed.filter((field): field is UpgradeRecordField => typeof field === 'string' && known.has(field)),
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
    type: ITEM_TYPES.discovery,
  };
}

export function itemToCheckpoint(item: Item): DiscoveryCheckpoint {
  return {
    account: asString(item.account),
    runId: asString(item.runId),
    startedAt: asString(item.startedAt),
    nextIndex: asString(item.nextIndex),
    pagesDone: asNumber(item.pagesDone),
    devicesEnqueued: asNumber(item.devicesEnqueued),
    state: item.state === 'done' ? 'done' : 'running',
    updatedAt: asString(item.updatedAt),
  };
}

function asString(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function asNumber(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}
