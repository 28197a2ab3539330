import { parseDeviceId } from '../domain/device-key';
import type { CallOptions, DiscoveryCheckpoint, HistoryStore, ThingSpaceApi } from '../domain/ports';
import type { DeviceKey } from '../domain/upgrade-record';

/** Where discovered devices go to be synced: SQS when deployed, an in-process pool on one machine. */
export interface DeviceSyncQueue {
  enqueue(devices: readonly DeviceKey[]): Promise<void>;
}

export interface DiscoveryDependencies {
  thingspace: ThingSpaceApi;
  store: Pick<HistoryStore, 'getDiscoveryCheckpoint' | 'saveDiscoveryCheckpoint'>;
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
 * Pages through the account's device list in order, enqueueing every device for sync and
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

  const stored = await store.getDiscoveryCheckpoint(account);
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
    };
    const replaced = stored?.state === 'running' ? stored : undefined;
    if (!(await store.saveDiscoveryCheckpoint(fresh, replaced))) {
      return { state: 'skipped', reason: 'another-pass-running' };
    }
    checkpoint = fresh;
  }

  while (shouldContinue()) {
    const page = await thingspace.listDevices(account, checkpoint.nextIndex, { deadline: options.deadline });
    const devices = page.deviceIds.flatMap((deviceId) => (isValidDeviceId(deviceId) ? [{ account, deviceId }] : []));
    await syncQueue.enqueue(devices);
    const finished = !page.hasMoreData;
    if (!finished && (page.lastSeenDeviceId === '' || page.lastSeenDeviceId === checkpoint.nextIndex)) {
      // Following such a page would fetch it again forever.
      throw new Error(`ThingSpace's device list did not advance past index ${checkpoint.nextIndex}`);
    }
    const next: DiscoveryCheckpoint = {
      ...checkpoint,
      nextIndex: finished ? checkpoint.nextIndex : page.lastSeenDeviceId,
      pagesDone: checkpoint.pagesDone + 1,
      devicesEnqueued: checkpoint.devicesEnqueued + devices.length,
      state: finished ? 'done' : 'running',
      updatedAt: now().toISOString(),
    };
    if (!(await store.saveDiscoveryCheckpoint(next, checkpoint))) {
      return { state: 'skipped', reason: 'superseded' };
    }
    checkpoint = next;
    options.onPage?.(checkpoint, devices.length);
    if (finished) return { state: 'done', checkpoint };
  }
  return { state: 'paused', checkpoint };
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
