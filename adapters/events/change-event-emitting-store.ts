/**
 * The archive with a change feed, for where DynamoDB Streams do not exist (dynalite on one machine).
 * Each write the store really applied (re-planned after a lost race, never a planned write that became a
 * no-op) is turned into its item images and mapped by changeEventFor, the mapping the deployed stream
 * consumer uses, so both produce the same events for the same writes.
 */
import type { ArchiveWrite } from '../../domain/archive-plan';
import { type ChangeEvent, changeEventFor } from '../../domain/change-event';
import type { ApplyWritesOptions, ArchiveResult, HistoryStore } from '../../domain/ports';
import type { DeviceKey } from '../../domain/upgrade-record';
import { upgradeToItem } from '../dynamodb/item-mapping';

/** Where change events go (events.jsonl, a webhook). Must not throw: the write is already archived. */
export interface ChangeEventSink {
  emit(event: ChangeEvent): void;
}

export class ChangeEventEmittingStore implements HistoryStore {
  constructor(
    private readonly inner: HistoryStore,
    private readonly sink: ChangeEventSink,
  ) {}

  async applyWrites(
    device: DeviceKey,
    writes: readonly ArchiveWrite[],
    options?: ApplyWritesOptions,
  ): Promise<ArchiveResult> {
    return this.inner.applyWrites(device, writes, {
      ...options,
      onApplied: (write) => {
        // Emitted as each write lands, so a call that fails half-way still reports what it stored.
        const event = changeEventForWrite(device, write);
        if (event) this.sink.emit(event);
        options?.onApplied?.(write);
      },
    });
  }

  // Everything else passes through with all its arguments (deadlines included).
  listUpgrades: HistoryStore['listUpgrades'] = (...args) => this.inner.listUpgrades(...args);
  listStatusLogs: HistoryStore['listStatusLogs'] = (...args) => this.inner.listStatusLogs(...args);
  recordSyncOutcome: HistoryStore['recordSyncOutcome'] = (...args) => this.inner.recordSyncOutcome(...args);
  getSyncState: HistoryStore['getSyncState'] = (...args) => this.inner.getSyncState(...args);
  getSyncStates: HistoryStore['getSyncStates'] = (...args) => this.inner.getSyncStates(...args);
  hasArchivedUpgrades: HistoryStore['hasArchivedUpgrades'] = (...args) => this.inner.hasArchivedUpgrades(...args);
  getDiscoveryCheckpoint: HistoryStore['getDiscoveryCheckpoint'] = (...args) =>
    this.inner.getDiscoveryCheckpoint(...args);
  saveDiscoveryCheckpoint: HistoryStore['saveDiscoveryCheckpoint'] = (...args) =>
    this.inner.saveDiscoveryCheckpoint(...args);
}

/** The event a stream consumer would publish for this write: the same item images, the same mapping. */
export function changeEventForWrite(device: DeviceKey, write: ArchiveWrite): ChangeEvent | undefined {
  const oldImage = write.kind === 'update' ? upgradeToItem(device, write.previous) : undefined;
  return changeEventFor(oldImage, upgradeToItem(device, write.next));
}
