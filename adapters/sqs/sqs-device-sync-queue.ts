/** The device sync queue of the fleet discovery, over SQS. */
import type { DeviceSyncQueue, DeviceSyncRequest } from '../../services/discover-fleet';
import type { SqsMessageSender } from './sqs-message-sender';

/**
 * The sync queue's message is the device key, the same body an EventBridge rule or a caller sends, plus
 * the device-list entry discovery selected it on, which the sync records for the next pass to compare.
 */
export class SqsDeviceSyncQueue implements DeviceSyncQueue {
  constructor(private readonly sender: SqsMessageSender) {}

  async enqueue(devices: readonly DeviceSyncRequest[]): Promise<void> {
    await this.sender.sendAll(
      devices.map(({ account, deviceId, listed }) => (listed ? { account, deviceId, listed } : { account, deviceId })),
    );
  }
}
