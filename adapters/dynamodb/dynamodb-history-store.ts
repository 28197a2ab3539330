/** The archive (domain/ports.ts's HistoryStore) over one DynamoDB table. */
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import pLimit from 'p-limit';
import {
  type ArchivedUpgrade,
  type ArchiveWrite,
  mergeStatusLog,
  planUpgradeWrite,
  type StatusLogEntry,
  type UpgradeStatusLog,
} from '../../domain/archive-plan';
import type {
  ApplyWritesOptions,
  ArchiveResult,
  CallOptions,
  DeviceSyncState,
  DiscoveryCheckpoint,
  HistoryStore,
  SyncOutcome,
} from '../../domain/ports';
import type { DeviceKey } from '../../domain/upgrade-record';
import { type BackoffPolicy, retryUntil, type Sleep } from '../retry';
import {
  checkpointToItem,
  itemToCheckpoint,
  itemToStatusLogEntry,
  itemToSyncState,
  itemToUpgrade,
  statusLogEntryToItem,
  syncStateToItem,
  upgradeToItem,
} from './item-mapping';
import { isConditionalCheckFailed, isPermanentRequestError } from './request-errors';
import {
  devicePartitionKey,
  discoveryCheckpointKey,
  PARTITION_KEY,
  SORT_KEY,
  STATUS_LOG_SORT_KEY_PREFIX,
  syncStateKey,
  type TableKey,
  UPGRADE_SORT_KEY_PREFIX,
  upgradeKey,
} from './table-schema';

/** Where the store reports what it leaves out of the archive: ids and counts only, never content. */
export interface StoreLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface DynamoDbHistoryStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  retry?: {
    /** The waits before asking again for the keys a BatchGetItem left unprocessed (throttling is the SDK's: client.ts). */
    baseDelayMs?: number;
    maxDelayMs?: number;
    /** How long a call without a deadline keeps retrying throttling (and may wait at all) before it gives up. */
    defaultBudgetMs?: number;
  };
  sleep?: Sleep;
  now?: () => number;
  /** Conditional writes in flight at once per applyWrites call. */
  writeConcurrency?: number;
  /** Re-plans of one write after lost races before it gives up (each lost race is another writer's progress). */
  maxConflictRetries?: number;
  logger?: StoreLogger;
}

/** BatchGetItem's limit of keys per request. */
const BATCH_GET_LIMIT = 100;

type Outcome = 'inserted' | 'updated' | 'unchanged' | 'skipped';
type Condition = Pick<
  PutCommandInput,
  'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
>;

/** One public call's bounds: `signal` aborts whatever is in flight at `deadline`, the SDK's retry waits included. */
interface Call {
  deadline: number;
  signal: AbortSignal;
}

/** The stored item under an upgrade's key cannot be read as one, so no plan against it can succeed. */
class UnreadableStoredUpgrade extends Error {
  constructor() {
    super('the stored item of this upgrade cannot be read');
    this.name = 'UnreadableStoredUpgrade';
  }
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Enough of an upgrade id to find it, even when a hostile one is kilobytes long. */
const LOGGED_ID_LENGTH = 64;

/**
 * Every upgrade write is conditional on what the planner saw, so
 * concurrent syncs of one device cannot duplicate, lose, or roll back a record; a writer that loses a
 * race re-reads the item and re-plans instead of overwriting. Every call, retries included, is aborted
 * at the caller's deadline, so a stalled store fails in time instead of holding the request.
 */
export class DynamoDbHistoryStore implements HistoryStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly unprocessedBackoff: BackoffPolicy;
  private readonly sleep: Sleep | undefined;
  private readonly now: () => number;
  private readonly defaultBudgetMs: number;
  private readonly writeConcurrency: number;
  private readonly maxConflictRetries: number;
  private readonly logger: StoreLogger | undefined;

  constructor(options: DynamoDbHistoryStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    // No jitter: these waits follow a partial answer, not a refusal many callers got at once.
    this.unprocessedBackoff = {
      baseMs: 2 * (options.retry?.baseDelayMs ?? 50),
      capMs: options.retry?.maxDelayMs ?? 2_000,
      jitter: 'none',
    };
    this.sleep = options.sleep;
    this.now = options.now ?? (() => Date.now());
    this.defaultBudgetMs = options.retry?.defaultBudgetMs ?? 20_000;
    this.writeConcurrency = options.writeConcurrency ?? 8;
    this.maxConflictRetries = options.maxConflictRetries ?? 25;
    this.logger = options.logger;
  }

  async listUpgrades(device: DeviceKey, options?: CallOptions): Promise<ArchivedUpgrade[]> {
    return this.within(options, async (call) => {
      const upgrades: ArchivedUpgrade[] = [];
      let unreadable = 0;
      await this.queryPartition(device, UPGRADE_SORT_KEY_PREFIX, call, (item) => {
        const upgrade = itemToUpgrade(item);
        if (upgrade) upgrades.push(upgrade);
        else unreadable += 1;
      });
      this.reportUnreadable(device, unreadable);
      return upgrades;
    });
  }

  async listStatusLogs(device: DeviceKey, options?: CallOptions): Promise<UpgradeStatusLog[]> {
    return this.within(options, async (call) => {
      const onItems = new Map<string, StatusLogEntry[]>();
      const moved = new Map<string, StatusLogEntry[]>();
      let unreadable = 0;
      // One pass over the partition: upgrade items and moved entries (and the small SYNC item, ignored).
      await this.queryPartition(device, undefined, call, (item) => {
        const sortKey = String(item[SORT_KEY]);
        if (sortKey.startsWith(UPGRADE_SORT_KEY_PREFIX)) {
          const upgrade = itemToUpgrade(item);
          if (upgrade) onItems.set(upgrade.record.id, upgrade.statusLog);
          else unreadable += 1;
        } else if (sortKey.startsWith(STATUS_LOG_SORT_KEY_PREFIX)) {
          const entry = itemToStatusLogEntry(item);
          if (!entry) unreadable += 1;
          else moved.set(entry.upgradeId, [...(moved.get(entry.upgradeId) ?? []), entry.entry]);
        }
      });
      this.reportUnreadable(device, unreadable);
      const logs: UpgradeStatusLog[] = [];
      for (const [upgradeId, statusLog] of onItems) {
        logs.push({ upgradeId, statusLog: mergeStatusLog(statusLog, moved.get(upgradeId) ?? []) });
      }
      return logs;
    });
  }

  async applyWrites(
    device: DeviceKey,
    writes: readonly ArchiveWrite[],
    options?: ApplyWritesOptions,
  ): Promise<ArchiveResult> {
    // An unchanged re-read (the usual warm request) has nothing to write: no deadline timer, no pool.
    if (writes.length === 0) return { inserted: 0, updated: 0, unchanged: 0, skipped: 0 };
    return this.within(options, async (call) => {
      const limit = pLimit(this.writeConcurrency);
      const outcomes = await limit.map(writes, (write) =>
        this.applyWrite(device, write, call, options?.onApplied).catch((error: unknown) => {
          // The caller is about to see this error: the writes not started yet are not started at all.
          limit.clearQueue();
          throw error;
        }),
      );
      const result: ArchiveResult = { inserted: 0, updated: 0, unchanged: 0, skipped: 0 };
      for (const outcome of outcomes) result[outcome] += 1;
      return result;
    });
  }

  async recordSyncOutcome(device: DeviceKey, outcome: SyncOutcome, options?: CallOptions): Promise<void> {
    // A failed condition means a newer outcome is already stored: this older one is history, not state.
    await this.within(options, (call) =>
      this.conditionalPut(
        syncStateToItem(device, outcome),
        {
          ConditionExpression: 'attribute_not_exists(#pk) OR #syncedAt < :syncedAt',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#syncedAt': 'syncedAt' },
          ExpressionAttributeValues: { ':syncedAt': outcome.syncedAt },
        },
        call,
      ),
    );
  }

  async getSyncState(device: DeviceKey, options?: CallOptions): Promise<DeviceSyncState | undefined> {
    const item = await this.within(options, (call) => this.getItem(syncStateKey(device), call));
    return item ? itemToSyncState(item) : undefined;
  }

  async getSyncStates(
    account: string,
    deviceIds: readonly string[],
    options?: CallOptions,
  ): Promise<Map<string, DeviceSyncState>> {
    return this.within(options, async (call) => {
      const states = new Map<string, DeviceSyncState>();
      for (let start = 0; start < deviceIds.length; start += BATCH_GET_LIMIT) {
        let keys: Record<string, unknown>[] = deviceIds
          .slice(start, start + BATCH_GET_LIMIT)
          .map((deviceId) => syncStateKey({ account, deviceId }) as unknown as Record<string, unknown>);
        // BatchGetItem may answer only part of a batch (UnprocessedKeys); the rest is asked again with backoff.
        const retry = { backoff: this.unprocessedBackoff, deadline: call.deadline, now: this.now, sleep: this.sleep };
        const answered = await retryUntil(retry, async () => {
          const answer = await this.client.send(
            new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys } } }),
            { abortSignal: call.signal },
          );
          for (const item of answer.Responses?.[this.tableName] ?? []) {
            const state = itemToSyncState(item);
            states.set(state.deviceId, state);
          }
          keys = answer.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
          return keys.length === 0;
        });
        if (!answered) throw new Error('DynamoDB left sync states unprocessed until the deadline');
      }
      return states;
    });
  }

  async hasArchivedUpgrades(device: DeviceKey, options?: CallOptions): Promise<boolean> {
    return this.within(options, async (call) => {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
          ExpressionAttributeValues: { ':pk': devicePartitionKey(device), ':prefix': UPGRADE_SORT_KEY_PREFIX },
          ProjectionExpression: '#pk',
          Limit: 1,
        }),
        { abortSignal: call.signal },
      );
      return (page.Items ?? []).length > 0;
    });
  }

  async getDiscoveryCheckpoint(account: string, options?: CallOptions): Promise<DiscoveryCheckpoint | undefined> {
    const item = await this.within(options, (call) => this.getItem(discoveryCheckpointKey(account), call));
    return item ? itemToCheckpoint(item) : undefined;
  }

  async saveDiscoveryCheckpoint(
    checkpoint: DiscoveryCheckpoint,
    expected: DiscoveryCheckpoint | undefined,
    options?: CallOptions,
  ): Promise<boolean> {
    // With no expected checkpoint this starts a run: allowed over nothing or over a finished run only.
    const condition: Condition = expected
      ? {
          ConditionExpression: '#runId = :runId AND #pagesDone = :pagesDone',
          ExpressionAttributeNames: { '#runId': 'runId', '#pagesDone': 'pagesDone' },
          ExpressionAttributeValues: { ':runId': expected.runId, ':pagesDone': expected.pagesDone },
        }
      : {
          ConditionExpression: 'attribute_not_exists(#pk) OR #state = :done',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#state': 'state' },
          ExpressionAttributeValues: { ':done': 'done' },
        };
    return this.within(options, (call) => this.conditionalPut(checkpointToItem(checkpoint), condition, call));
  }

  /**
   * One planned upgrade, written or skipped. DynamoDB refusing the item for good (too large, key too
   * long) skips this record alone, so one poison record cannot turn every later request for its device
   * into a failure; everything else (throttling past the deadline, timeouts, aborts) still throws.
   */
  private async applyWrite(
    device: DeviceKey,
    planned: ArchiveWrite,
    call: Call,
    onApplied?: (write: ArchiveWrite) => void,
  ): Promise<Outcome> {
    try {
      return await this.writeUntilSettled(device, planned, call, onApplied);
    } catch (error) {
      if (!isPermanentRequestError(error) && !(error instanceof UnreadableStoredUpgrade)) throw error;
      const upgradeId = planned.next.record.id;
      this.logger?.warn('upgrade not archived: its item cannot be written', {
        account: device.account,
        deviceId: device.deviceId,
        upgradeId: upgradeId.slice(0, LOGGED_ID_LENGTH),
        upgradeIdLength: upgradeId.length,
        errorName: (error as Error).name,
      });
      return 'skipped';
    }
  }

  /**
   * Writes one planned upgrade; when its condition fails, another writer changed the item first, so
   * the same observation is re-planned against what is stored now: it may have become a no-op (the
   * other writer stored the same or a newer state) or an update on top of the other writer's.
   */
  private async writeUntilSettled(
    device: DeviceKey,
    planned: ArchiveWrite,
    call: Call,
    onApplied?: (write: ArchiveWrite) => void,
  ): Promise<Outcome> {
    const { record, observedAt } = planned.next;
    let write: ArchiveWrite | undefined = planned;
    for (let conflicts = 0; write; conflicts += 1) {
      if (conflicts > this.maxConflictRetries) {
        throw new Error(
          `Archive write for upgrade ${record.id.slice(0, LOGGED_ID_LENGTH)} lost ${this.maxConflictRetries} races in a row; giving up`,
        );
      }
      if (write.kind === 'update' && write.movedEntries.length > 0) {
        // Stored before the item is trimmed: a crash in between leaves an entry twice, never nowhere.
        const moving = write.movedEntries;
        await Promise.all(moving.map((entry) => this.putMovedEntry(device, record.id, entry, call)));
      }
      if (await this.tryConditionalPut(device, write, call)) {
        onApplied?.(write);
        return write.kind === 'insert' ? 'inserted' : 'updated';
      }
      const item = await this.getItem(upgradeKey(device, record.id), call);
      const stored = item ? itemToUpgrade(item) : undefined;
      if (item && !stored) throw new UnreadableStoredUpgrade();
      write = planUpgradeWrite(record, stored, observedAt);
    }
    return 'unchanged';
  }

  /** Idempotent: an entry is immutable once observed, so an existing item for it is this same entry. */
  private async putMovedEntry(device: DeviceKey, upgradeId: string, entry: StatusLogEntry, call: Call): Promise<void> {
    // Already there (an earlier attempt, or another writer): the entry is stored either way.
    await this.conditionalPut(
      statusLogEntryToItem(device, upgradeId, entry),
      { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PARTITION_KEY } },
      call,
    );
  }

  /** False when the condition failed, i.e. the item is no longer what the plan was made against. */
  private async tryConditionalPut(device: DeviceKey, write: ArchiveWrite, call: Call): Promise<boolean> {
    const condition: Condition =
      write.kind === 'insert'
        ? {
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': PARTITION_KEY },
          }
        : {
            ConditionExpression: '#observedAt = :expectedObservedAt',
            ExpressionAttributeNames: { '#observedAt': 'observedAt' },
            ExpressionAttributeValues: { ':expectedObservedAt': write.expectedObservedAt },
          };
    return this.conditionalPut(upgradeToItem(device, write.next), condition, call);
  }

  /** One PutItem under `condition` (the SDK retries throttling within the call): false when the condition failed. */
  private async conditionalPut(item: Record<string, unknown>, condition: Condition, call: Call): Promise<boolean> {
    try {
      await this.client.send(new PutCommand({ TableName: this.tableName, Item: item, ...condition }), {
        abortSignal: call.signal,
      });
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** Every item of the device's partition (under `prefix`, if given), page by page. */
  private async queryPartition(
    device: DeviceKey,
    prefix: string | undefined,
    call: Call,
    onItem: (item: Record<string, unknown>) => void,
  ): Promise<void> {
    const keyCondition: Pick<
      QueryCommandInput,
      'KeyConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
    > =
      prefix === undefined
        ? {
            KeyConditionExpression: '#pk = :pk',
            ExpressionAttributeNames: { '#pk': PARTITION_KEY },
            ExpressionAttributeValues: { ':pk': devicePartitionKey(device) },
          }
        : {
            KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
            ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
            ExpressionAttributeValues: { ':pk': devicePartitionKey(device), ':prefix': prefix },
          };
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({ TableName: this.tableName, ...keyCondition, ExclusiveStartKey: startKey }),
        { abortSignal: call.signal },
      );
      for (const item of page.Items ?? []) onItem(item);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  private reportUnreadable(device: DeviceKey, count: number): void {
    if (count === 0) return;
    this.logger?.warn('archived items left out: not readable as upgrades', {
      account: device.account,
      deviceId: device.deviceId,
      count,
    });
  }

  private async getItem(key: TableKey, call: Call): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
      { abortSignal: call.signal },
    );
    return Item;
  }

  /**
   * Runs one public call under its deadline: whatever request or SDK retry wait is in flight when it
   * passes is aborted, so neither throttling nor a store that accepts connections but never answers can
   * hold the caller past it (the SDK's own timeouts only bound one attempt).
   */
  private async within<T>(options: CallOptions | undefined, run: (call: Call) => Promise<T>): Promise<T> {
    const deadline = options?.deadline ?? this.now() + this.defaultBudgetMs;
    const controller = new AbortController();
    // Node fires a timer longer than 2^31-1 ms at once, so a far-off deadline is capped, not turned into an abort.
    const timer = setTimeout(() => controller.abort(), Math.min(MAX_TIMER_MS, Math.max(0, deadline - this.now())));
    try {
      return await run({ deadline, signal: controller.signal });
    } finally {
      clearTimeout(timer);
    }
  }
}
