import { describe, expect, it } from 'vitest';
import type { DeviceKey } from '../../domain/upgrade-record';
import { InProcessSyncPool } from '../../local/in-process-sync-pool';

const ACCOUNT = '0000000042-00001';

function devices(count: number, offset = 0): DeviceKey[] {
  return Array.from({ length: count }, (_, index) => ({
    account: ACCOUNT,
    deviceId: String(350000000000000 + offset + index),
  }));
}

/** A sync whose devices finish only when the test says so. */
function controlledSync() {
  const pending: Array<{ device: DeviceKey; finish: () => void }> = [];
  const synced: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const sync = (device: DeviceKey) =>
    new Promise<void>((resolve) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      pending.push({
        device,
        finish: () => {
          inFlight -= 1;
          synced.push(device.deviceId);
          resolve();
        },
      });
    });
  const finishAll = async () => {
    while (pending.length > 0) {
      for (const item of pending.splice(0)) item.finish();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { sync, pending, synced, finishAll, maxInFlight: () => maxInFlight };
}

describe('InProcessSyncPool (the one-machine sync queue)', () => {
  it('syncs every device once with no more than `concurrency` in flight', async () => {
    // Prepare
    const worker = controlledSync();
    const pool = new InProcessSyncPool(worker.sync, 3);

    // Act
    await pool.enqueue(devices(20));
    const drained = pool.drain();
    await worker.finishAll();
    await drained;

    // Assess
    expect(worker.maxInFlight()).toBe(3);
    expect(worker.synced.sort()).toEqual(devices(20).map((device) => device.deviceId));
  });

  it('holds discovery back while the backlog is full, so a big fleet never sits in memory at once', async () => {
    // Prepare: 2 in flight and a backlog of 5, so 7 devices fit before enqueue has to wait.
    const worker = controlledSync();
    const pool = new InProcessSyncPool(worker.sync, 2, 5);
    let enqueued = false;

    // Act
    const enqueueing = pool.enqueue(devices(10)).then(() => (enqueued = true));
    await new Promise((resolve) => setImmediate(resolve));
    const waitingWhileFull = !enqueued;
    await worker.finishAll();
    await enqueueing;
    await pool.drain();

    // Assess
    expect(waitingWhileFull).toBe(true);
    expect(worker.synced).toHaveLength(10);
  });

  it('keeps going after a device fails, and drain resolves at once when idle', async () => {
    // Prepare
    const synced: string[] = [];
    const pool = new InProcessSyncPool(async (device) => {
      if (device.deviceId.endsWith('1')) throw new Error('boom');
      synced.push(device.deviceId);
    }, 2);

    // Act
    await pool.drain();
    await pool.enqueue(devices(4));
    await pool.drain();

    // Assess
    expect(synced).toHaveLength(3);
  });

  it('on a stop, starts no device of the backlog, and drains once the ones in flight are done', async () => {
    // Prepare
    const controlled = controlledSync();
    const pool = new InProcessSyncPool(controlled.sync, 2);
    await pool.enqueue(devices(10));

    // Act
    const discarded = pool.discardBacklog();
    let drained = false;
    const drain = pool.drain().then(() => (drained = true));
    await new Promise((resolve) => setImmediate(resolve));
    const drainedBeforeInFlightFinished = drained;
    await controlled.finishAll();
    await drain;

    // Assess
    expect(discarded).toBe(8);
    expect(drainedBeforeInFlightFinished).toBe(false);
    expect(controlled.synced).toHaveLength(2);
    expect(controlled.maxInFlight()).toBe(2);
  });
});
