import type { DeviceKey } from '../../domain/upgrade-record';
import type { DeviceSyncQueue } from '../../services/discover-fleet';
import type { SqsMessageSender } from './sqs-message-sender';

/** The sync queue's message is the device key itself, the same body an EventBridge rule or a caller sends. */
export class SqsDeviceSyncQueue implements DeviceSyncQueue {
  constructor(private readonly sender: SqsMessageSender) {}

  async enqueue(devices: readonly DeviceKey[]): Promise<void> {
    await this.sender.sendAll(devices.map(({ account, deviceId }) => ({ account, deviceId })));
  }
}
