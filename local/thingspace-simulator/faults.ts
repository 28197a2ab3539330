/** The misbehaviour tests ask for: one-shot faults in order, per-device faults, and fixed latency. */
import type { FaultAction } from './types';

interface QueuedFault {
  action: FaultAction;
  remaining: number;
  deviceId?: string;
}

export class Faults {
  private queue: QueuedFault[] = [];
  private readonly perDevice = new Map<string, FaultAction>();
  latencyMs: number;

  constructor(latencyMs = 0) {
    this.latencyMs = latencyMs;
  }

  /** The next `count` FOTA calls (only those for `deviceId`, when given) get `action`. */
  add(action: FaultAction, count = 1, deviceId?: string): void {
    if (count > 0) this.queue.push({ action, remaining: count, deviceId });
  }

  /** `deviceId` gets `action` on every call until cleared with undefined. */
  setForDevice(deviceId: string, action: FaultAction | undefined): void {
    if (action) this.perDevice.set(deviceId, action);
    else this.perDevice.delete(deviceId);
  }

  take(deviceId: string | undefined): FaultAction | undefined {
    const permanent = deviceId ? this.perDevice.get(deviceId) : undefined;
    if (permanent) return permanent;
    const queued = this.queue.find((fault) => fault.deviceId === undefined || fault.deviceId === deviceId);
    if (!queued) return undefined;
    queued.remaining -= 1;
    if (queued.remaining <= 0) this.queue = this.queue.filter((fault) => fault !== queued);
    return queued.action;
  }

  pending(): number {
    return this.queue.reduce((sum, fault) => sum + fault.remaining, 0);
  }

  clear(): void {
    this.queue = [];
    this.perDevice.clear();
  }
}
