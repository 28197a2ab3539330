/**
 * Brings a local table (embedded dynalite or DYNAMODB_ENDPOINT) created before the archive-query
 * indexes up to the full schema. dynalite cannot add a GSI to an existing table, so the items move:
 * `<table>` -> `<table>-migrating` (full schema, index attributes added on the way, then a marker
 * item saying the copy is complete) -> `<table>` deleted and recreated -> items copied back ->
 * `<table>-migrating` deleted. The old data is deleted only once a complete copy exists elsewhere, so a
 * process dying at any point loses nothing: the next start sees which tables exist and whether the
 * copy is marked complete, and resumes from there. Local runs only: in AWS the table belongs to CDK.
 */
import {
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ARCHIVE_INDEX_KINDS, ARCHIVE_INDEXES } from './archive-indexes';
import { missingArchiveIndexAttributes } from './item-mapping';
import { createHistoryTable, PARTITION_KEY, SORT_KEY } from './table-schema';

type Item = Record<string, unknown>;

/** Lives only in `<table>-migrating`; never copied back. */
const COPY_COMPLETE_KEY = { [PARTITION_KEY]: 'TABLE#MIGRATION', [SORT_KEY]: 'COPY_COMPLETE' };
const BATCH_SIZE = 25;

export function migratingTableName(tableName: string): string {
  return `${tableName}-migrating`;
}

export interface EnsureHistoryTableResult {
  /** 'migrated' when items were moved (a fresh migration or a resumed one). */
  action: 'created' | 'migrated' | 'none';
  /** Items in the table after a migration (the marker not counted). */
  items: number;
}

/**
 * Makes `tableName` exist with the full schema (createHistoryTable's), migrating an older table or
 * finishing an interrupted migration first. Idempotent: a second call on a current table does nothing.
 * Not safe beside another process writing the table: call it before serving.
 */
export async function ensureHistoryTable(client: DynamoDBClient, tableName: string): Promise<EnsureHistoryTableResult> {
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const migrating = migratingTableName(tableName);
  const [current, staging] = await Promise.all([describe(client, tableName), describe(client, migrating)]);

  if (!staging) {
    if (!current) {
      await createHistoryTable(client, tableName);
      return { action: 'created', items: 0 };
    }
    if (hasArchiveIndexes(current)) return { action: 'none', items: 0 };
  }

  const copyComplete = staging !== undefined && (await isCopyComplete(documents, migrating));
  if (!copyComplete) {
    // Step 1 (or its restart): the old table is still the only complete copy. Puts overwrite, so a
    // partial earlier copy is simply redone.
    if (!current)
      throw new Error(
        `${migrating} exists without a complete copy and ${tableName} is missing: restore ${tableName} or delete ${migrating}`,
      );
    await createHistoryTable(client, migrating);
    const items = await copyItems(documents, tableName, migrating);
    await documents.send(new PutCommand({ TableName: migrating, Item: { ...COPY_COMPLETE_KEY, items } }));
  }
  // Step 2: drop the old-schema table (a recreated full-schema one may hold a partial copy back: it is
  // simply completed by step 3).
  const afterCopy = await describe(client, tableName);
  if (afterCopy && !hasArchiveIndexes(afterCopy)) await deleteTable(client, tableName);
  // Step 3: the full-schema table under the configured name, then everything copied back.
  await createHistoryTable(client, tableName);
  const items = await copyItems(documents, migrating, tableName);
  // Step 4: the staging table is now redundant.
  await deleteTable(client, migrating);
  return { action: 'migrated', items };
}

function hasArchiveIndexes(table: TableDescription): boolean {
  const names = new Set((table.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  return ARCHIVE_INDEX_KINDS.every((kind) => names.has(ARCHIVE_INDEXES[kind].indexName));
}

async function isCopyComplete(documents: DynamoDBDocumentClient, tableName: string): Promise<boolean> {
  const { Item } = await documents.send(
    new GetCommand({ TableName: tableName, Key: COPY_COMPLETE_KEY, ConsistentRead: true }),
  );
  return Item !== undefined;
}

/** Copies every item but the marker, adding the archive index attributes an old upgrade item lacks. */
async function copyItems(documents: DynamoDBDocumentClient, from: string, to: string): Promise<number> {
  let copied = 0;
  let startKey: Item | undefined;
  do {
    const page = await documents.send(
      new ScanCommand({ TableName: from, ExclusiveStartKey: startKey, ConsistentRead: true }),
    );
    const items = (page.Items ?? [])
      .filter(
        (item) =>
          !(item[PARTITION_KEY] === COPY_COMPLETE_KEY[PARTITION_KEY] && item[SORT_KEY] === COPY_COMPLETE_KEY[SORT_KEY]),
      )
      .map((item) => ({ ...item, ...missingArchiveIndexAttributes(item) }));
    for (let index = 0; index < items.length; index += BATCH_SIZE) {
      await batchPut(documents, to, items.slice(index, index + BATCH_SIZE));
    }
    copied += items.length;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return copied;
}

async function batchPut(documents: DynamoDBDocumentClient, tableName: string, items: Item[]): Promise<void> {
  let requests = items.map((item) => ({ PutRequest: { Item: item } }));
  for (let attempt = 0; requests.length > 0; attempt += 1) {
    if (attempt > 0) await sleep(Math.min(50 * 2 ** attempt, 2_000));
    if (attempt > 20) throw new Error(`migrating ${tableName}: ${requests.length} items stayed unprocessed`);
    const { UnprocessedItems } = await documents.send(
      new BatchWriteCommand({ RequestItems: { [tableName]: requests } }),
    );
    requests = (UnprocessedItems?.[tableName] ?? []) as typeof requests;
  }
}

async function deleteTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DeleteTableCommand({ TableName: tableName }));
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
  }
  const giveUpAt = Date.now() + 60_000;
  while ((await describe(client, tableName)) !== undefined) {
    if (Date.now() >= giveUpAt) throw new Error(`table ${tableName} is still being deleted after 60 s`);
    await sleep(100);
  }
}

async function describe(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
