/** The port the archive API reads the archive through, and what its reads return. */
import type { ArchivedUpgrade } from './archive-plan';
import type { QueryPlan } from './archive-query';
import type { DetachedStatusLog } from './device-archive';
import type { CallOptions, DeviceSyncState } from './ports';
import type { DeviceKey, UpgradeRecord } from './upgrade-record';

/** Everything in one device's partition: its upgrades, log entries moved out of them, its sync state. */
export interface DevicePartition {
  upgrades: ArchivedUpgrade[];
  detachedLog: DetachedStatusLog;
  sync: DeviceSyncState | undefined;
}

export interface ArchivePage {
  /** Newest first in the archive's order (orderKey), all matching the plan. */
  records: UpgradeRecord[];
  /** The order key to continue after (exclusive); absent when nothing is left. */
  next?: string;
}

/** Read-only queries over the archive. Implemented over DynamoDB in adapters/dynamodb. */
export interface ArchiveReader {
  readDevice(device: DeviceKey, options?: CallOptions): Promise<DevicePartition>;
  /** Up to `limit` records (possibly fewer) that the plan selects, below `after` in the order. */
  queryPage(
    account: string,
    plan: QueryPlan,
    after: string | undefined,
    limit: number,
    options?: CallOptions,
  ): Promise<ArchivePage>;
}
