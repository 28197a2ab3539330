/**
 * The one-machine stand-in for the sync queue and its workers: at most `concurrency` devices are
 * synced at once (ThingSpace is shared), and discovery waits while the backlog is full, so a fleet of
 * a million devices never sits in memory at once.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import type { DeviceKey } from '../domain/upgrade-record';
import type { DeviceSyncQueue } from '../services/discover-fleet';

export class InProcessSyncPool<T extends DeviceKey = DeviceKey> implements DeviceSyncQueue {
  private readonly limit: LimitFunction;
  /** Every device's turn, waiting or in flight; settles when the device is done, failed or discarded. */
  private readonly turns = new Set<Promise<void>>();
  private readonly roomWaiters: Array<() => void> = [];

  constructor(
    private readonly sync: (device: T) => Promise<void>,
    concurrency: number,
    private readonly maxBacklog = 5_000,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error('concurrency must be a positive integer');
    // A discarded backlog rejects its turns, so drain() does not wait for devices that will never start.
    this.limit = pLimit({ concurrency, rejectOnClear: true });
  }

  async enqueue(devices: readonly T[]): Promise<void> {
    for (const device of devices) {
      while (this.limit.pendingCount >= this.maxBacklog) {
        await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
      }
      const turn = this.limit(async () => {
        this.roomWaiters.shift()?.();
        // `sync` reports its own failures; the pool only keeps the slots turning.
        await this.sync(device).catch(() => undefined);
      })
        .catch(() => undefined)
        .finally(() => this.turns.delete(turn));
      this.turns.add(turn);
    }
  }

  /** Resolves when every enqueued device has been synced (or has failed). */
  async drain(): Promise<void> {
    while (this.turns.size > 0) await Promise.allSettled([...this.turns]);
  }

  /** Forgets the devices not started yet (a stop) and returns how many; those in flight still finish. */
  discardBacklog(): number {
    const discarded = this.limit.pendingCount;
    this.limit.clearQueue();
    for (const resolve of this.roomWaiters.splice(0)) resolve();
    return discarded;
  }
}
