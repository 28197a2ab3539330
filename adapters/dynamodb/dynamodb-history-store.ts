import {
  BatchGetCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  type DynamoDBDocumentClient,
  type PutCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { planUpgradeWrite, type ArchiveWrite, type ArchivedUpgrade } from '../../domain/archive-plan';
import type {
  ArchiveResult,
  CallOptions,
  DeviceSyncState,
  DiscoveryCheckpoint,
  HistoryStore,
  SyncOutcome,
} from '../../domain/ports';
import type { DeviceKey } from '../../domain/upgrade-record';
import {
  checkpointToItem,
  itemToCheckpoint,
  itemToSyncState,
  itemToUpgrade,
  syncStateToItem,
  upgradeToItem,
} from './item-mapping';
import { isConditionalCheckFailed, mapWithConcurrency, retryThrottled, type RetryPolicy } from './retry';
import {
  devicePartitionKey,
  discoveryCheckpointKey,
  PARTITION_KEY,
  SORT_KEY,
  syncStateKey,
  upgradeKey,
  type TableKey,
  UPGRADE_SORT_KEY_PREFIX,
} from './table-schema';

export interface DynamoDbHistoryStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  retry?: {
    baseDelayMs?: number;
    maxDelayMs?: number;
    /** How long a call without a deadline keeps retrying throttling before it gives up. */
    defaultBudgetMs?: number;
  };
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Conditional writes in flight at once per applyWrites call. */
  writeConcurrency?: number;
  /** Re-plans of one write after lost races before it gives up (each lost race is another writer's progress). */
  maxConflictRetries?: number;
}

/** BatchGetItem's limit of keys per request. */
const BATCH_GET_LIMIT = 100;

type Outcome = 'inserted' | 'updated' | 'unchanged';
type Condition = Pick<PutCommandInput, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'>;

/**
 * The archive over one DynamoDB table. Every upgrade write is conditional on what the planner saw, so
 * concurrent syncs of one device cannot duplicate, lose, or roll back a record; a writer that loses a
 * race re-reads the item and re-plans instead of overwriting.
 */
export class DynamoDbHistoryStore implements HistoryStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly policy: RetryPolicy;
  private readonly defaultBudgetMs: number;
  private readonly writeConcurrency: number;
  private readonly maxConflictRetries: number;

  constructor(options: DynamoDbHistoryStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.policy = {
      baseDelayMs: options.retry?.baseDelayMs ?? 50,
      maxDelayMs: options.retry?.maxDelayMs ?? 2_000,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      now: options.now ?? (() => Date.now()),
      random: Math.random,
    };
    this.defaultBudgetMs = options.retry?.defaultBudgetMs ?? 20_000;
    this.writeConcurrency = options.writeConcurrency ?? 8;
    this.maxConflictRetries = options.maxConflictRetries ?? 25;
  }

  async listUpgrades(device: DeviceKey): Promise<ArchivedUpgrade[]> {
    const deadline = this.deadlineOf(undefined);
    const upgrades: ArchivedUpgrade[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.withRetry(
        () =>
          this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
              ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
              ExpressionAttributeValues: { ':pk': devicePartitionKey(device), ':prefix': UPGRADE_SORT_KEY_PREFIX },
              ExclusiveStartKey: startKey,
            }),
          ),
        deadline,
      );
      for (const item of page.Items ?? []) upgrades.push(itemToUpgrade(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return upgrades;
  }

  async applyWrites(device: DeviceKey, writes: readonly ArchiveWrite[], options?: CallOptions): Promise<ArchiveResult> {
    const deadline = this.deadlineOf(options);
    const outcomes = await mapWithConcurrency(writes, this.writeConcurrency, (write) =>
      this.applyWrite(device, write, deadline),
    );
    const result: ArchiveResult = { inserted: 0, updated: 0, unchanged: 0 };
    for (const outcome of outcomes) result[outcome] += 1;
    return result;
  }

  async recordSyncOutcome(device: DeviceKey, outcome: SyncOutcome): Promise<void> {
    try {
      await this.withRetry(
        () =>
          this.client.send(
            new PutCommand({
              TableName: this.tableName,
              Item: syncStateToItem(device, outcome),
              ConditionExpression: 'attribute_not_exists(#pk) OR #syncedAt < :syncedAt',
              ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#syncedAt': 'syncedAt' },
              ExpressionAttributeValues: { ':syncedAt': outcome.syncedAt },
            }),
          ),
        this.deadlineOf(undefined),
      );
    } catch (error) {
      // A newer outcome is already stored: this older one is history, not state.
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async getSyncState(device: DeviceKey): Promise<DeviceSyncState | undefined> {
    const item = await this.getItem(syncStateKey(device), this.deadlineOf(undefined));
    return item ? itemToSyncState(item) : undefined;
  }

  async getSyncStates(account: string, deviceIds: readonly string[]): Promise<Map<string, DeviceSyncState>> {
    const deadline = this.deadlineOf(undefined);
    const states = new Map<string, DeviceSyncState>();
    for (let start = 0; start < deviceIds.length; start += BATCH_GET_LIMIT) {
      let keys: Record<string, unknown>[] = deviceIds
        .slice(start, start + BATCH_GET_LIMIT)
        .map((deviceId) => syncStateKey({ account, deviceId }) as unknown as Record<string, unknown>);
      // BatchGetItem may answer only part of a batch (UnprocessedKeys); the rest is asked again with backoff.
      for (let round = 0; keys.length > 0; round += 1) {
        if (round > 0) await this.policy.sleep(Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** round));
        if (round > 0 && this.policy.now() > deadline) throw new Error('DynamoDB left sync states unprocessed until the deadline');
        const answer = await this.withRetry(
          () => this.client.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys } } })),
          deadline,
        );
        for (const item of answer.Responses?.[this.tableName] ?? []) {
          const state = itemToSyncState(item);
          states.set(state.deviceId, state);
        }
        keys = answer.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return states;
  }

  async hasArchivedUpgrades(device: DeviceKey): Promise<boolean> {
    const page = await this.withRetry(
      () =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
            ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
            ExpressionAttributeValues: { ':pk': devicePartitionKey(device), ':prefix': UPGRADE_SORT_KEY_PREFIX },
            ProjectionExpression: '#pk',
            Limit: 1,
          }),
        ),
      this.deadlineOf(undefined),
    );
    return (page.Items ?? []).length > 0;
  }

  async getDiscoveryCheckpoint(account: string): Promise<DiscoveryCheckpoint | undefined> {
    const item = await this.getItem(discoveryCheckpointKey(account), this.deadlineOf(undefined));
    return item ? itemToCheckpoint(item) : undefined;
  }

  async saveDiscoveryCheckpoint(checkpoint: DiscoveryCheckpoint, expected: DiscoveryCheckpoint | undefined): Promise<boolean> {
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
    try {
      await this.withRetry(
        () => this.client.send(new PutCommand({ TableName: this.tableName, Item: checkpointToItem(checkpoint), ...condition })),
        this.deadlineOf(undefined),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /**
   * Writes one planned upgrade; when its condition fails, another writer changed the item first, so
   * the same observation is re-planned against what is stored now: it may have become a no-op (the
   * other writer stored the same or a newer state) or an update on top of the other writer's.
   */
  private async applyWrite(device: DeviceKey, planned: ArchiveWrite, deadline: number): Promise<Outcome> {
    const { record, observedAt } = planned.next;
    let write: ArchiveWrite | undefined = planned;
    for (let conflicts = 0; write; conflicts += 1) {
      if (conflicts > this.maxConflictRetries) {
        throw new Error(
          `Archive write for upgrade ${record.id} lost ${this.maxConflictRetries} races in a row; giving up`,
        );
      }
      if (await this.tryConditionalPut(device, write, deadline)) {
        return write.kind === 'insert' ? 'inserted' : 'updated';
      }
      const stored = await this.getItem(upgradeKey(device, record.id), deadline);
      write = planUpgradeWrite(record, stored ? itemToUpgrade(stored) : undefined, observedAt);
    }
    return 'unchanged';
  }

  /** False when the condition failed, i.e. the item is no longer what the plan was made against. */
  private async tryConditionalPut(device: DeviceKey, write: ArchiveWrite, deadline: number): Promise<boolean> {
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
    try {
      await this.withRetry(
        () =>
          this.client.send(
            new PutCommand({ TableName: this.tableName, Item: upgradeToItem(device, write.next), ...condition }),
          ),
        deadline,
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  private async getItem(key: TableKey, deadline: number): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.withRetry(
      () => this.client.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })),
      deadline,
    );
    return Item;
  }

  private withRetry<T>(operation: () => Promise<T>, deadline: number): Promise<T> {
    return retryThrottled(operation, deadline, this.policy);
  }

  private deadlineOf(options: CallOptions | undefined): number {
    return options?.deadline ?? this.policy.now() + this.defaultBudgetMs;
  }
}
