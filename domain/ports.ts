/** The ports through which the services reach ThingSpace and the archive, with the types they exchange. */
import type { ArchivedUpgrade, ArchiveWrite, UpgradeStatusLog } from './archive-plan';
import type { AskReason, ListedDevice, SkipReason } from './fleet-selection';
import type { DeviceKey, UpgradeRecord } from './upgrade-record';

/** Options every upstream call takes: the absolute time (epoch ms) by which it must give up. */
export interface CallOptions {
  deadline?: number;
  /**
   * When archive calls must give up (epoch ms); defaults to `deadline`. Later than `deadline`, so the
   * writes after an upstream answer that came at the last moment still have time, yet early enough
   * that a stalled store is answered as such before the function is cut off.
   */
  storeDeadline?: number;
}

/** One page of ThingSpace's FOTA device list. */
export interface DeviceListPage {
  deviceIds: string[];
  hasMoreData: boolean;
  /** The startIndex of the next page, when hasMoreData. */
  lastSeenDeviceId: string;
  /** Each listed device with what the list says about its firmware (same order as deviceIds). */
  devices?: ListedDevice[];
}

/** The device-list entry a sync was asked for: recorded on success, compared by the next pass. */
export type ListedState = Pick<ListedDevice, 'firmware' | 'upgradeTime'>;

/** The part of ThingSpace this service uses. Implemented over HTTP in adapters/thingspace. */
export interface ThingSpaceApi {
  /** The device's upgrade history for the last six months, validated; throws a ThingSpaceError. */
  getDeviceHistory(device: DeviceKey, options?: CallOptions): Promise<UpgradeRecord[]>;
  /** One page of the account's devices; startIndex is '0' for the first page. */
  listDevices(account: string, startIndex: string, options?: CallOptions): Promise<DeviceListPage>;
}

/** How one archive pass went: how many upgrades it inserted, updated, found unchanged or skipped. */
export interface ArchiveResult {
  inserted: number;
  updated: number;
  unchanged: number;
  /**
   * Upgrades DynamoDB refuses for good (an item or key over its limits): not archived, still served.
   * Never a transient failure: those fail the whole call, so nothing is answered unarchived by chance.
   */
  skipped: number;
}

export interface SyncOutcome {
  syncedAt: string;
  outcome: 'success' | 'failure';
  /** Upgrades ThingSpace returned, on success. */
  upgradesSeen?: number;
  /** errorCode of the failure, on failure. */
  errorCode?: string;
  /** The device list's firmware and upgradeTime at the last successful sync. */
  listed?: ListedState;
  /** When ThingSpace's history of the device was last read successfully (a full sync of the device). */
  lastFullSyncAt?: string;
  /** Distinct upgrades archived for the device at the last successful sync (0 for a never-upgraded device). */
  archivedUpgrades?: number;
  /** The newest startDate (YYYY-MM-DD) of an upgrade whose status was not final at the last successful sync. */
  newestUnfinishedStartDate?: string;
}

export interface DeviceSyncState extends SyncOutcome {
  account: string;
  deviceId: string;
}

/** Where a fleet discovery run is, so that a run interrupted mid-way resumes from its last page. */
export interface DiscoveryCheckpoint {
  account: string;
  runId: string;
  startedAt: string;
  /** startIndex of the next page to fetch ('0' before the first). */
  nextIndex: string;
  pagesDone: number;
  devicesEnqueued: number;
  state: 'running' | 'done';
  updatedAt: string;
  /** Devices the list named so far (valid ids only); devicesEnqueued of them were asked. */
  devicesListed?: number;
  /** Asked devices by reason, and skipped devices by reason. */
  asked?: Partial<Record<AskReason, number>>;
  skipped?: Partial<Record<SkipReason, number>>;
  /** Whether this pass asks every device. */
  full?: boolean;
}

export interface ApplyWritesOptions extends CallOptions {
  /**
   * Called once for each write really applied, after any re-planning on a lost race, as soon as it
   * is stored: what a change feed must report (a planned write that turned into a no-op is not).
   */
  onApplied?: (write: ArchiveWrite) => void;
}

/** The archive. Implemented over DynamoDB in adapters/dynamodb. */
export interface HistoryStore {
  /**
   * Every archived upgrade of the device (all pages), each with the part of its status log kept on its
   * item. Items that cannot be read as an upgrade are left out, never thrown.
   */
  listUpgrades(device: DeviceKey, options?: CallOptions): Promise<ArchivedUpgrade[]>;
  /** The whole status log of each archived upgrade of the device, oldest entry first. */
  listStatusLogs(device: DeviceKey, options?: CallOptions): Promise<UpgradeStatusLog[]>;
  /**
   * Applies planned writes with conditions, so that concurrent writers never duplicate or lose an
   * upgrade and an older observation never overwrites a newer one. A write whose condition fails is
   * re-planned against the stored item (planUpgradeWrite) and retried; throttling is retried until
   * written or the deadline passes. A write DynamoDB refuses for good is skipped and counted; any other
   * failure (throttled past the deadline, timed out, store unreachable) rejects.
   */
  applyWrites(device: DeviceKey, writes: readonly ArchiveWrite[], options?: ApplyWritesOptions): Promise<ArchiveResult>;
  recordSyncOutcome(device: DeviceKey, outcome: SyncOutcome, options?: CallOptions): Promise<void>;
  getSyncState(device: DeviceKey, options?: CallOptions): Promise<DeviceSyncState | undefined>;
  /** The sync states of many devices of one account at once (missing devices are absent from the map). */
  getSyncStates(
    account: string,
    deviceIds: readonly string[],
    options?: CallOptions,
  ): Promise<Map<string, DeviceSyncState>>;
  /** Whether anything is archived for the device (one key-only look, not a read of its upgrades). */
  hasArchivedUpgrades(device: DeviceKey, options?: CallOptions): Promise<boolean>;
  getDiscoveryCheckpoint(account: string, options?: CallOptions): Promise<DiscoveryCheckpoint | undefined>;
  /**
   * Saves a checkpoint if the stored one is the expected one (same runId and pagesDone), so two
   * discovery workers never advance one run twice. Returns false when another writer got there first.
   */
  saveDiscoveryCheckpoint(
    checkpoint: DiscoveryCheckpoint,
    expected: DiscoveryCheckpoint | undefined,
    options?: CallOptions,
  ): Promise<boolean>;
}
