/**
 * The fleet discovery pass: pages through an account's device list and enqueues a sync of each device
 * whose history may have changed.
 */
import pLimit from 'p-limit';
import { parseDeviceId } from '../domain/device-key';
import {
  DEFAULT_FULL_RESYNC_DAYS,
  type ListedDevice,
  needsArchiveCheck,
  selectForSync,
} from '../domain/fleet-selection';
import type {
  CallOptions,
  DeviceListPage,
  DeviceSyncState,
  DiscoveryCheckpoint,
  HistoryStore,
  ListedState,
  ThingSpaceApi,
} from '../domain/ports';
import type { DeviceKey } from '../domain/upgrade-record';
import { archiveCallOptions } from './observe-device';

/** A device to sync, with the device-list entry it was selected on (recorded by a successful sync). */
export interface DeviceSyncRequest extends DeviceKey {
  listed?: ListedState;
}

/** Where discovered devices go to be synced: SQS when deployed, an in-process pool on one machine. */
export interface DeviceSyncQueue {
  enqueue(devices: readonly DeviceSyncRequest[]): Promise<void>;
}

export interface DiscoveryDependencies {
  thingspace: ThingSpaceApi;
  store: Pick<
    HistoryStore,
    'getDiscoveryCheckpoint' | 'saveDiscoveryCheckpoint' | 'getSyncStates' | 'hasArchivedUpgrades' | 'recordSyncOutcome'
  >;
  syncQueue: DeviceSyncQueue;
  now?: () => Date;
}

export interface DiscoveryOptions extends CallOptions {
  /**
   * Identifies the pass. Asking again with the same runId resumes it from its last page (a retried
   * message); a new runId starts a new pass unless another one is still running.
   */
  runId: string;
  /** Asked before each page; false pauses the pass at a page boundary (the Lambda is running out of time). */
  shouldContinue?: () => boolean;
  /** A running pass not advanced for this long is taken to have died and is replaced. */
  staleAfterMs?: number;
  /** Replace any running pass (a one-machine pass whose in-memory queue died with it). */
  replaceRunning?: boolean;
  /**
   * Only carry on the pass `runId` names, never start one: a continuation whose pass has since been
   * replaced by a newer one must not begin a second full pass under its old id.
   */
  continuation?: boolean;
  onPage?: (checkpoint: DiscoveryCheckpoint, devicesOnPage: number) => void;
  /** (d) of the change-aware selection: days after which a device is asked again whatever else (default 7). */
  fullResyncDays?: number;
  /** Ask every device (except never-upgraded ones with nothing archived). Kept by the pass's continuations. */
  full?: boolean;
}

export type DiscoveryOutcome =
  /** Every page was fetched and every device enqueued. */
  | { state: 'done'; checkpoint: DiscoveryCheckpoint }
  /** Stopped at a page boundary; continue with the same runId. */
  | { state: 'paused'; checkpoint: DiscoveryCheckpoint }
  /** Another pass is running, or took this one over; nothing to do. */
  | { state: 'skipped'; reason: 'another-pass-running' | 'superseded'; checkpoint?: DiscoveryCheckpoint };

const DEFAULT_STALE_AFTER_MS = 2 * 60 * 60 * 1000;

/**
 * Pages through the account's device list in order, enqueueing the devices the change-aware selection
 * picks (domain/fleet-selection.ts) and
 * checkpointing after each page, so a pass that fails mid-way resumes from its last page. A page that
 * was enqueued but not checkpointed is enqueued again on resume: syncing a device twice is harmless.
 */
export async function discoverFleet(
  account: string,
  dependencies: DiscoveryDependencies,
  options: DiscoveryOptions,
): Promise<DiscoveryOutcome> {
  const { thingspace, store, syncQueue, now = () => new Date() } = dependencies;
  const { runId, shouldContinue = () => true, staleAfterMs = DEFAULT_STALE_AFTER_MS } = options;

  // The store's calls are bounded by the store deadline, so a stalled store fails the pass in time.
  const storeCall = archiveCallOptions(options);
  const stored = await store.getDiscoveryCheckpoint(account, storeCall);
  let checkpoint: DiscoveryCheckpoint;
  if (stored?.runId === runId) {
    if (stored.state === 'done') return { state: 'done', checkpoint: stored };
    checkpoint = stored;
  } else if (options.continuation) {
    return { state: 'skipped', reason: 'superseded', checkpoint: stored };
  } else {
    const otherIsRunning =
      stored?.state === 'running' &&
      !options.replaceRunning &&
      now().getTime() - Date.parse(stored.updatedAt) < staleAfterMs;
    if (otherIsRunning) return { state: 'skipped', reason: 'another-pass-running', checkpoint: stored };
    const startedAt = now().toISOString();
    const fresh: DiscoveryCheckpoint = {
      account,
      runId,
      startedAt,
      nextIndex: '0',
      pagesDone: 0,
      devicesEnqueued: 0,
      state: 'running',
      updatedAt: startedAt,
      devicesListed: 0,
      asked: {},
      skipped: {},
      ...(options.full ? { full: true } : {}),
    };
    const replaced = stored?.state === 'running' ? stored : undefined;
    if (!(await store.saveDiscoveryCheckpoint(fresh, replaced, storeCall))) {
      return { state: 'skipped', reason: 'another-pass-running' };
    }
    checkpoint = fresh;
  }

  const policy = {
    fullResyncDays: options.fullResyncDays ?? DEFAULT_FULL_RESYNC_DAYS,
    fullPass: checkpoint.full === true,
  };
  while (shouldContinue()) {
    const page = await thingspace.listDevices(account, checkpoint.nextIndex, { deadline: options.deadline });
    const listed = listedDevices(page);
    const selection = await selectPage(account, listed, store, { ...policy, now: now() }, storeCall);
    await syncQueue.enqueue(selection.requests);
    const finished = !page.hasMoreData;
    if (!finished && (page.lastSeenDeviceId === '' || page.lastSeenDeviceId === checkpoint.nextIndex)) {
      // Following such a page would fetch it again forever.
      throw new Error(`ThingSpace's device list did not advance past index ${checkpoint.nextIndex}`);
    }
    const next: DiscoveryCheckpoint = {
      ...checkpoint,
      nextIndex: finished ? checkpoint.nextIndex : page.lastSeenDeviceId,
      pagesDone: checkpoint.pagesDone + 1,
      devicesEnqueued: checkpoint.devicesEnqueued + selection.requests.length,
      devicesListed: (checkpoint.devicesListed ?? 0) + listed.length,
      asked: addCounts(checkpoint.asked, selection.asked),
      skipped: addCounts(checkpoint.skipped, selection.skipped),
      state: finished ? 'done' : 'running',
      updatedAt: now().toISOString(),
    };
    if (!(await store.saveDiscoveryCheckpoint(next, checkpoint, storeCall))) {
      return { state: 'skipped', reason: 'superseded' };
    }
    checkpoint = next;
    options.onPage?.(checkpoint, selection.requests.length);
    if (finished) return { state: 'done', checkpoint };
  }
  return { state: 'paused', checkpoint };
}

/** Each valid device of the page with its list entry; a list without firmware fields compares as ''. */
function listedDevices(page: DeviceListPage): ListedDevice[] {
  const entries = new Map((page.devices ?? []).map((device) => [device.deviceId, device]));
  return page.deviceIds
    .filter(isValidDeviceId)
    .map((deviceId) => entries.get(deviceId) ?? { deviceId, firmware: '', upgradeTime: '' });
}

interface PageSelection {
  requests: DeviceSyncRequest[];
  asked: Record<string, number>;
  skipped: Record<string, number>;
}

/** Looks at a never-upgraded device's archive this many at a time (a rare case: one key-only Query each). */
const ARCHIVE_CHECK_CONCURRENCY = 16;

/**
 * Change-aware selection of one page (domain/fleet-selection.ts): one batched read of the page's sync
 * states, a key-only look at the archive only for never-upgraded devices whose state does not say, and
 * a sync state for a never-upgraded device with nothing archived, so later passes skip it on that read alone.
 */
async function selectPage(
  account: string,
  listed: readonly ListedDevice[],
  store: DiscoveryDependencies['store'],
  policy: { now: Date; fullResyncDays: number; fullPass: boolean },
  storeCall: CallOptions,
): Promise<PageSelection> {
  const states = await store.getSyncStates(
    account,
    listed.map((device) => device.deviceId),
    storeCall,
  );
  const archiveCounts = new Map<string, number>();
  const toCheck = listed.filter((device) => needsArchiveCheck(device, states.get(device.deviceId)));
  await mapUntilFailure(toCheck, async (device) => {
    const archived = await store.hasArchivedUpgrades({ account, deviceId: device.deviceId }, storeCall);
    archiveCounts.set(device.deviceId, archived ? 1 : 0);
  });
  const result: PageSelection = { requests: [], asked: {}, skipped: {} };
  const neverUpgradedStates: Array<{ device: DeviceKey; state: DeviceSyncState | undefined; listed: ListedDevice }> =
    [];
  for (const device of listed) {
    const state = states.get(device.deviceId);
    const decision = selectForSync(device, state, archiveCounts.get(device.deviceId), policy);
    if (decision.ask) {
      result.asked[decision.reason] = (result.asked[decision.reason] ?? 0) + 1;
      result.requests.push({
        account,
        deviceId: device.deviceId,
        listed: { firmware: device.firmware, upgradeTime: device.upgradeTime },
      });
    } else {
      result.skipped[decision.reason] = (result.skipped[decision.reason] ?? 0) + 1;
      if (decision.reason === 'never-upgraded' && state?.archivedUpgrades === undefined) {
        neverUpgradedStates.push({ device: { account, deviceId: device.deviceId }, state, listed: device });
      }
    }
  }
  await mapUntilFailure(neverUpgradedStates, ({ device, state, listed: entry }) =>
    store.recordSyncOutcome(
      device,
      {
        ...(state ?? {}),
        syncedAt: policy.now.toISOString(),
        outcome: 'success',
        upgradesSeen: 0,
        errorCode: undefined,
        archivedUpgrades: 0,
        listed: { firmware: entry.firmware, upgradeTime: entry.upgradeTime },
      },
      storeCall,
    ),
  );
  return result;
}

function addCounts<K extends string>(
  total: Partial<Record<K, number>> | undefined,
  page: Partial<Record<K, number>>,
): Partial<Record<K, number>> {
  const sum: Partial<Record<K, number>> = { ...(total ?? {}) };
  for (const [reason, count] of Object.entries(page) as Array<[K, number]>) sum[reason] = (sum[reason] ?? 0) + count;
  return sum;
}

/** A listed device whose id is not an IMEI cannot be asked about; it is skipped, not sent to fail later. */
function isValidDeviceId(deviceId: string): boolean {
  try {
    parseDeviceId(deviceId);
    return true;
  } catch {
    return false;
  }
}

/**
 * At most ARCHIVE_CHECK_CONCURRENCY store calls at once; after the first failure, which fails the page,
 * the calls not started yet are not started at all (they would land after the pass had given up).
 */
async function mapUntilFailure<T>(items: readonly T[], call: (item: T) => Promise<unknown>): Promise<void> {
  const limit = pLimit(ARCHIVE_CHECK_CONCURRENCY);
  await limit.map(items, (item) =>
    call(item).catch((error: unknown) => {
      limit.clearQueue();
      throw error;
    }),
  );
}
