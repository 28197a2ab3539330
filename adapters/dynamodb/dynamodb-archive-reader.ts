/**
 * The archive's read-only queries: one device's whole partition in one (paged) Query, and pages of
 * an account's upgrades from the account-wide indexes (see archive-indexes.ts), merged across shards.
 */
import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { StatusLogEntry } from '../../domain/archive-plan';
import type { ArchivePage, ArchiveReader, DevicePartition } from '../../domain/archive-ports';
import { INDEX_SHARDS, indexPartitionKey, matchesResidual, orderKey, type QueryPlan } from '../../domain/archive-query';
import type { CallOptions } from '../../domain/ports';
import { mergeShardRound, type ShardRead } from '../../domain/shard-merge';
import {
  type DeviceKey,
  toUpgradeRecord,
  UPGRADE_RECORD_FIELDS,
  type UpgradeRecord,
  type UpgradeRecordField,
} from '../../domain/upgrade-record';
import { ARCHIVE_INDEXES, ARCHIVE_ORDER_ATTRIBUTE } from './archive-indexes';
import { itemToSyncState, itemToUpgrade } from './item-mapping';
import {
  devicePartitionKey,
  PARTITION_KEY,
  SORT_KEY,
  STATUS_LOG_SORT_KEY_PREFIX,
  SYNC_SORT_KEY,
  UPGRADE_SORT_KEY_PREFIX,
} from './table-schema';

type Item = Record<string, unknown>;

export interface DynamoDbArchiveReaderOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** Rounds of shard reads one page may take to fill up before it answers with what it has. */
  maxRoundsPerPage?: number;
  now?: () => number;
}

const DEFAULT_BUDGET_MS = 20_000;

export class DynamoDbArchiveReader implements ArchiveReader {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly maxRounds: number;
  private readonly now: () => number;

  constructor(options: DynamoDbArchiveReaderOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.maxRounds = options.maxRoundsPerPage ?? 4;
    this.now = options.now ?? (() => Date.now());
  }

  async readDevice(device: DeviceKey, options?: CallOptions): Promise<DevicePartition> {
    const partition: DevicePartition = { upgrades: [], detachedLog: new Map(), sync: undefined };
    const detached = new Map<string, StatusLogEntry[]>();
    for (const item of await this.devicePartitionItems(device, undefined, options)) {
      const sk = String(item[SORT_KEY] ?? '');
      if (sk.startsWith(UPGRADE_SORT_KEY_PREFIX)) {
        // An item that cannot be read as an upgrade (the store logs it when it meets it) is left out.
        const upgrade = itemToUpgrade(item);
        if (upgrade) partition.upgrades.push(upgrade);
      } else if (sk === SYNC_SORT_KEY) partition.sync = itemToSyncState(item);
      else if (sk.startsWith(STATUS_LOG_SORT_KEY_PREFIX)) {
        const { upgradeId, entries } = statusLogItem(item, sk);
        detached.set(upgradeId, [...(detached.get(upgradeId) ?? []), ...entries]);
      }
    }
    partition.detachedLog = detached;
    return partition;
  }

  async queryPage(
    account: string,
    plan: QueryPlan,
    after: string | undefined,
    limit: number,
    options?: CallOptions,
  ): Promise<ArchivePage> {
    if (plan.index === 'device') return this.queryDevicePage(account, plan, after, limit, options);
    const taken: UpgradeRecord[] = [];
    let upper = after ?? plan.upper;
    let lastKey = upper;
    for (let round = 0; round < this.maxRounds; round += 1) {
      if (upper < plan.lower) return { records: taken };
      const wanted = limit - taken.length;
      // A shard holds about 1/INDEX_SHARDS of the range; reading a little more fills most pages in one round.
      const perShard = Math.min(1000, Math.ceil((wanted * 1.5) / INDEX_SHARDS) + 2);
      const reads = await Promise.all(
        Array.from({ length: INDEX_SHARDS }, (_, shard) =>
          this.readShard(
            indexPartitionKey(account, plan.keyValue, shard),
            plan,
            upper,
            after !== undefined || round > 0,
            perShard,
            options,
          ),
        ),
      );
      const merged = mergeShardRound(reads);
      for (const { key, value } of merged.items) {
        if (taken.length === limit) return { records: taken, next: lastKey };
        taken.push(value);
        lastKey = key;
      }
      if (merged.continueBelow === undefined) return { records: taken };
      upper = merged.continueBelow;
      if (taken.length === limit) return { records: taken, next: upper };
    }
    return { records: taken, next: upper };
  }

  /** One shard of one index, read downward from `upper` (exclusive when continuing) to plan.lower. */
  private async readShard(
    partitionKey: string,
    plan: QueryPlan,
    upper: string,
    upperExclusive: boolean,
    limit: number,
    options: CallOptions | undefined,
  ): Promise<ShardRead<UpgradeRecord>> {
    const index = ARCHIVE_INDEXES[plan.index as keyof typeof ARCHIVE_INDEXES];
    const filter = residualFilter(plan.residual);
    const page = await this.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: index.indexName,
        KeyConditionExpression: '#pk = :pk AND #order BETWEEN :lower AND :upper',
        ...(filter.expression ? { FilterExpression: filter.expression } : {}),
        ExpressionAttributeNames: { '#pk': index.partitionKey, '#order': ARCHIVE_ORDER_ATTRIBUTE, ...filter.names },
        ExpressionAttributeValues: { ':pk': partitionKey, ':lower': plan.lower, ':upper': upper, ...filter.values },
        ScanIndexForward: false,
        Limit: limit,
      }),
      options,
    );
    const items = (page.Items ?? [])
      .map((item) => ({ key: String(item[ARCHIVE_ORDER_ATTRIBUTE]), value: itemRecord(item) }))
      .filter((item) => !(upperExclusive && item.key === upper));
    const last = page.LastEvaluatedKey?.[ARCHIVE_ORDER_ATTRIBUTE];
    return { items, frontier: typeof last === 'string' ? last : undefined };
  }

  /** A device holds a handful of upgrades: read them all from its partition, then filter and page in memory. */
  private async queryDevicePage(
    account: string,
    plan: QueryPlan,
    after: string | undefined,
    limit: number,
    options?: CallOptions,
  ): Promise<ArchivePage> {
    const device = { account, deviceId: plan.keyValue as string };
    const items = await this.devicePartitionItems(device, UPGRADE_SORT_KEY_PREFIX, options);
    const matching = items
      .flatMap((item) => {
        const upgrade = itemToUpgrade(item);
        return upgrade ? [upgrade.record] : [];
      })
      .map((record) => ({ key: orderKey({ ...record, deviceId: device.deviceId }), record }))
      .filter(
        ({ key, record }) =>
          key >= plan.lower &&
          key <= plan.upper &&
          (after === undefined || key < after) &&
          matchesResidual(record, plan.residual),
      )
      .sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
    const page = matching.slice(0, limit);
    return {
      records: page.map(({ record }) => record),
      ...(matching.length > limit ? { next: page[page.length - 1]!.key } : {}),
    };
  }

  private async devicePartitionItems(
    device: DeviceKey,
    prefix: string | undefined,
    options: CallOptions | undefined,
  ): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page: QueryCommandOutput = await this.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: prefix ? '#pk = :pk AND begins_with(#sk, :prefix)' : '#pk = :pk',
          ExpressionAttributeNames: prefix ? { '#pk': PARTITION_KEY, '#sk': SORT_KEY } : { '#pk': PARTITION_KEY },
          ExpressionAttributeValues: prefix
            ? { ':pk': devicePartitionKey(device), ':prefix': prefix }
            : { ':pk': devicePartitionKey(device) },
          ExclusiveStartKey: startKey,
        }),
        options,
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  private send(command: QueryCommand, options: CallOptions | undefined): Promise<QueryCommandOutput> {
    const deadline = options?.deadline ?? this.now() + DEFAULT_BUDGET_MS;
    // Aborted at the deadline, the SDK's retries and their waits included, so a stalled or throttling
    // store answers 503 in time (as the store does).
    const abortSignal = AbortSignal.timeout(Math.min(2 ** 31 - 1, Math.max(0, deadline - this.now())));
    return this.client.send(command, { abortSignal });
  }
}

function residualFilter(residual: QueryPlan['residual']): {
  expression?: string;
  names: Record<string, string>;
  values: Record<string, string>;
} {
  const names: Record<string, string> = {};
  const values: Record<string, string> = {};
  const terms: string[] = [];
  Object.entries(residual).forEach(([filter, value], index) => {
    names[`#f${index}`] = filter === 'upgradeId' ? 'id' : filter;
    values[`:f${index}`] = value as string;
    terms.push(`#f${index} = :f${index}`);
  });
  return { ...(terms.length ? { expression: terms.join(' AND ') } : {}), names, values };
}

function itemRecord(item: Item): UpgradeRecord {
  const fields = {} as Record<UpgradeRecordField, string>;
  for (const field of UPGRADE_RECORD_FIELDS)
    fields[field] = typeof item[field] === 'string' ? (item[field] as string) : '';
  return toUpgradeRecord(fields);
}

/**
 * A log item moved out of an upgrade (`LOG#<upgradeId>#<observedAt>`): one entry in its own
 * attributes, or several in a `statusLog` list. The upgrade id is the item's own attribute when it
 * has one, else read from the sort key (the observedAt after the last '#' has none of its own).
 */
function statusLogItem(item: Item, sk: string): { upgradeId: string; entries: StatusLogEntry[] } {
  const rest = sk.slice(STATUS_LOG_SORT_KEY_PREFIX.length);
  const cut = rest.lastIndexOf('#');
  const upgradeId = typeof item.upgradeId === 'string' ? item.upgradeId : cut >= 0 ? rest.slice(0, cut) : rest;
  const sources: Item[] = Array.isArray(item.statusLog) ? (item.statusLog as Item[]) : [item];
  const entries = sources.map((source) => ({
    observedAt: typeof source.observedAt === 'string' ? source.observedAt : cut >= 0 ? rest.slice(cut + 1) : '',
    status: typeof source.status === 'string' ? source.status : '',
    reason: typeof source.reason === 'string' ? source.reason : '',
    upgradeStartTime: typeof source.upgradeStartTime === 'string' ? source.upgradeStartTime : '',
    changedFields: [],
  }));
  return { upgradeId, entries };
}
