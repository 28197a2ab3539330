/**
 * The archive's single table. CDK creates it with exactly this key schema, so every key the store
 * writes is built here and nowhere else.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DeviceKey } from '../../domain/upgrade-record';
import {
  ARCHIVE_INDEX_KINDS,
  ARCHIVE_INDEX_PROJECTED_FIELDS,
  ARCHIVE_INDEXES,
  ARCHIVE_ORDER_ATTRIBUTE,
} from './archive-indexes';

export const PARTITION_KEY = 'pk';
export const SORT_KEY = 'sk';

export const UPGRADE_SORT_KEY_PREFIX = 'UPGRADE#';
/** Status-log entries moved off an upgrade item once its log outgrew what the item keeps. */
export const STATUS_LOG_SORT_KEY_PREFIX = 'LOG#';
export const SYNC_SORT_KEY = 'SYNC';
const DISCOVERY_SORT_KEY = 'DISCOVERY';
/** The ThingSpace login guard: one item per API user, named by a hash of the username. */
export const LOGIN_GUARD_PARTITION_KEY = 'THINGSPACE#LOGIN';
const LOGIN_GUARD_SORT_KEY_PREFIX = 'GUARD#';

/** The `type` attribute of each item kind, so a scan or an export can tell them apart. */
export const ITEM_TYPES = {
  upgrade: 'upgrade',
  statusLog: 'status-log',
  sync: 'sync',
  discovery: 'discovery',
  loginGuard: 'login-guard',
} as const;

export interface TableKey {
  pk: string;
  sk: string;
}

export function devicePartitionKey(device: DeviceKey): string {
  return `DEVICE#${device.account}#${device.deviceId}`;
}

function accountPartitionKey(account: string): string {
  return `ACCOUNT#${account}`;
}

export function upgradeKey(device: DeviceKey, upgradeId: string): TableKey {
  return { pk: devicePartitionKey(device), sk: `${UPGRADE_SORT_KEY_PREFIX}${upgradeId}` };
}

/** One moved status-log entry: in the device's partition, after its upgrade's other entries by time. */
export function statusLogEntryKey(device: DeviceKey, upgradeId: string, observedAt: string): TableKey {
  return { pk: devicePartitionKey(device), sk: `${STATUS_LOG_SORT_KEY_PREFIX}${upgradeId}#${observedAt}` };
}

export function syncStateKey(device: DeviceKey): TableKey {
  return { pk: devicePartitionKey(device), sk: SYNC_SORT_KEY };
}

export function discoveryCheckpointKey(account: string): TableKey {
  return { pk: accountPartitionKey(account), sk: DISCOVERY_SORT_KEY };
}

export function loginGuardKey(credentialsKey: string): TableKey {
  return { pk: LOGIN_GUARD_PARTITION_KEY, sk: `${LOGIN_GUARD_SORT_KEY_PREFIX}${credentialsKey}` };
}

/** The CreateTable shape; CDK mirrors it (pk/sk strings, on-demand billing). */
export const HISTORY_TABLE_KEY_SCHEMA = {
  AttributeDefinitions: [
    { AttributeName: PARTITION_KEY, AttributeType: 'S' },
    { AttributeName: SORT_KEY, AttributeType: 'S' },
  ],
  KeySchema: [
    { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
    { AttributeName: SORT_KEY, KeyType: 'RANGE' },
  ],
} as const;

/** The archive-query indexes in CreateTable's shape (on-demand: no throughput). */
const HISTORY_TABLE_INDEXES = {
  AttributeDefinitions: [
    ...ARCHIVE_INDEX_KINDS.map((kind) => ({
      AttributeName: ARCHIVE_INDEXES[kind].partitionKey,
      AttributeType: 'S' as const,
    })),
    { AttributeName: ARCHIVE_ORDER_ATTRIBUTE, AttributeType: 'S' as const },
  ],
  GlobalSecondaryIndexes: ARCHIVE_INDEX_KINDS.map((kind) => ({
    IndexName: ARCHIVE_INDEXES[kind].indexName,
    KeySchema: [
      { AttributeName: ARCHIVE_INDEXES[kind].partitionKey, KeyType: 'HASH' as const },
      { AttributeName: ARCHIVE_ORDER_ATTRIBUTE, KeyType: 'RANGE' as const },
    ],
    Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...ARCHIVE_INDEX_PROJECTED_FIELDS] },
  })),
};

export interface CreateHistoryTableOptions {
  /** How long to wait for the table to become ACTIVE before giving up. */
  timeoutMs?: number;
  pollIntervalMs?: number;
}

/**
 * Creates the table (on demand) unless it exists, then waits until it is ACTIVE. Idempotent and safe
 * to race: a concurrent creator's ResourceInUseException just means "wait for it". For local runs and
 * tests against dynalite; in AWS the table belongs to the CDK stack.
 */
export async function createHistoryTable(
  client: DynamoDBClient | DynamoDBDocumentClient,
  tableName: string,
  options: CreateHistoryTableOptions = {},
): Promise<void> {
  // The document client forwards plain commands unchanged, so either client works here.
  const rawClient = client as DynamoDBClient;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const pollIntervalMs = options.pollIntervalMs ?? 100;

  if ((await describeTableStatus(rawClient, tableName)) === undefined) {
    try {
      await rawClient.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [
            ...HISTORY_TABLE_KEY_SCHEMA.AttributeDefinitions,
            ...HISTORY_TABLE_INDEXES.AttributeDefinitions,
          ],
          KeySchema: [...HISTORY_TABLE_KEY_SCHEMA.KeySchema],
          GlobalSecondaryIndexes: HISTORY_TABLE_INDEXES.GlobalSecondaryIndexes,
        }),
      );
    } catch (error) {
      if (!(error instanceof ResourceInUseException) && (error as Error).name !== 'ResourceInUseException') throw error;
    }
  }

  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const status = await describeTableStatus(rawClient, tableName);
    if (status === 'ACTIVE') return;
    if (Date.now() >= giveUpAt) {
      throw new Error(`Table ${tableName} is not ACTIVE after ${timeoutMs} ms (status: ${status ?? 'missing'})`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
}

async function describeTableStatus(client: DynamoDBClient, tableName: string): Promise<string | undefined> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return Table?.TableStatus;
  } catch (error) {
    if (error instanceof ResourceNotFoundException || (error as Error).name === 'ResourceNotFoundException') {
      return undefined;
    }
    throw error;
  }
}
