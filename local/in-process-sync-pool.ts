import type { DeviceKey } from '../domain/upgrade-record';
import type { DeviceSyncQueue } from '../services/discover-fleet';

/**
 * The one-machine stand-in for the sync queue and its workers: at most `concurrency` devices are
 * synced at once (ThingSpace is shared), and discovery waits while the backlog is full, so a fleet of
 * a million devices never sits in memory at once.
 */
export class InProcessSyncPool<T extends DeviceKey = DeviceKey> implements DeviceSyncQueue {
  private readonly backlog: T[] = [];
  private active = 0;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly roomWaiters: Array<() => void> = [];

  constructor(
    private readonly sync: (device: T) => Promise<void>,
    private readonly concurrency: number,
    private readonly maxBacklog = 5_000,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error('concurrency must be a positive integer');
  }

  async enqueue(devices: readonly T[]): Promise<void> {
    for (const device of devices) {
      while (this.backlog.length >= this.maxBacklog) {
        await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
      }
      this.backlog.push(device);
      this.pump();
    }
  }

  /** Resolves when every enqueued device has been synced (or has failed). */
  async drain(): Promise<void> {
    if (this.active === 0 && this.backlog.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Forgets the devices not started yet (a stop) and returns how many; those in flight still finish. */
  discardBacklog(): number {
    const discarded = this.backlog.splice(0).length;
    for (const resolve of this.roomWaiters.splice(0)) resolve();
    if (this.active === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    return discarded;
  }

  private pump(): void {
    while (this.active < this.concurrency && this.backlog.length > 0) {
      const device = this.backlog.shift()!;
      this.active += 1;
      this.roomWaiters.shift()?.();
      // `sync` reports its own failures; the pool only keeps the slots turning.
      void this.sync(device)
        .catch(() => undefined)
        .finally(() => {
          this.active -= 1;
          this.pump();
          if (this.active === 0 && this.backlog.length === 0) {
            for (const resolve of this.idleWaiters.splice(0)) resolve();
          }
        });
    }
  }
}
