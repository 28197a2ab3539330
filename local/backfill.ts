/**
 * `npm run backfill`: a one-shot pass that puts upgrade items archived before the archive-query indexes
 * existed into them (adds their index attributes), so GET /archive/{account}/upgrades and `npm run
 * export` see them. Items written since carry the attributes already (adapters/dynamodb/item-mapping.ts).
 * Safe to run twice or beside a sync: each update is conditional on the item still lacking the
 * attributes and still being the version that was read. Same store selection as `npm run export`.
 */
import { type DynamoDBDocumentClient, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ARCHIVE_ORDER_ATTRIBUTE } from '../adapters/dynamodb/archive-indexes';
import { createDocumentClient } from '../adapters/dynamodb/client';
import { missingArchiveIndexAttributes } from '../adapters/dynamodb/item-mapping';
import { isConditionalCheckFailed } from '../adapters/dynamodb/request-errors';
import { ITEM_TYPES, PARTITION_KEY, SORT_KEY } from '../adapters/dynamodb/table-schema';
import { ConfigurationError, parseLocalConfig } from '../functions/commons/configuration';
import { fail as failCommand, readCommandLine } from './command-line';
import { prepareLocalEnvironment } from './local-environment';
import { hideSdkNodeVersionWarning } from './local-logging';

/**
 * Its calls carry no deadline, so the SDK's attempts bound a stalled store (the client's default is
 * sized for calls that a deadline ends); running it again is harmless.
 */
const BACKFILL_ATTEMPTS = 5;

const USAGE = `usage: npm run backfill

Adds the archive-query index attributes to upgrade items archived before the indexes existed, so
GET /archive/{account}/upgrades and npm run export see them. Safe to run twice or beside a sync.
The store is npm start's: the embedded one in DATA_DIR, or DYNAMODB_ENDPOINT + TABLE_NAME, or with
TABLE_NAME alone a real AWS table.`;

function fail(message: string): never {
  return failCommand('backfill', message);
}

/** Backfills every upgrade item lacking the index attributes; returns how many it updated. */
export async function backfillArchiveIndexes(
  client: DynamoDBDocumentClient,
  tableName: string,
  onProgress: (scanned: number, updated: number) => void = () => undefined,
): Promise<number> {
  let startKey: Record<string, unknown> | undefined;
  let scanned = 0;
  let updated = 0;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: '#type = :upgrade AND attribute_not_exists(#order)',
        ExpressionAttributeNames: { '#type': 'type', '#order': ARCHIVE_ORDER_ATTRIBUTE },
        ExpressionAttributeValues: { ':upgrade': ITEM_TYPES.upgrade },
        ExclusiveStartKey: startKey,
      }),
    );
    scanned += page.ScannedCount ?? 0;
    for (const item of page.Items ?? []) {
      const attributes = missingArchiveIndexAttributes(item);
      if (!attributes) continue;
      const names: Record<string, string> = { '#order': ARCHIVE_ORDER_ATTRIBUTE, '#observedAt': 'observedAt' };
      const values: Record<string, unknown> = { ':observedAt': item.observedAt };
      const sets = Object.entries(attributes).map(([name, value], index) => {
        names[`#a${index}`] = name;
        values[`:a${index}`] = value;
        return `#a${index} = :a${index}`;
      });
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { [PARTITION_KEY]: item[PARTITION_KEY], [SORT_KEY]: item[SORT_KEY] },
            UpdateExpression: `SET ${sets.join(', ')}`,
            // A sync that rewrote the item meanwhile wrote the attributes itself.
            ConditionExpression: 'attribute_not_exists(#order) AND #observedAt = :observedAt',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        );
        updated += 1;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
    }
    onProgress(scanned, updated);
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return updated;
}

async function main(): Promise<void> {
  readCommandLine('backfill', USAGE, {});
  hideSdkNodeVersionWarning();
  let client: DynamoDBDocumentClient;
  let tableName: string;
  let close = async (): Promise<void> => {};
  try {
    const config = parseLocalConfig(process.env);
    const { tableName: givenTable, dynamoDbEndpoint } = config.service;
    if (givenTable && !dynamoDbEndpoint && !config.dataDir) {
      client = createDocumentClient({ ...config.service.aws, maxAttempts: BACKFILL_ATTEMPTS });
      tableName = givenTable;
    } else {
      const environment = await prepareLocalEnvironment(config);
      client = createDocumentClient({
        ...config.service.aws,
        endpoint: environment.store.endpoint,
        maxAttempts: BACKFILL_ATTEMPTS,
      });
      tableName = environment.store.tableName;
      close = () => environment.close();
    }
  } catch (error) {
    fail(error instanceof ConfigurationError ? error.message : `cannot open the store: ${(error as Error).message}`);
  }
  try {
    const updated = await backfillArchiveIndexes(client, tableName, (scanned, done) => {
      if (process.stderr.isTTY) process.stderr.write(`\r${scanned} items scanned, ${done} backfilled`);
    });
    process.stdout.write(`${process.stderr.isTTY ? '\n' : ''}${updated} upgrade items backfilled in ${tableName}\n`);
  } catch (error) {
    fail((error as Error).message);
  } finally {
    client.destroy();
    await close();
  }
  process.exit(0);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) await main();
