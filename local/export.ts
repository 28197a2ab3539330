/**
 * `npm run export -- --account A [--firmware-to X] [--firmware-from X] [--status S] [--upgrade-id U]
 * [--device-id D] [--from DATE] [--to DATE] [--format csv|jsonl] [--out FILE]`: the archive query of
 * GET /archive/{account}/upgrades as a file, for audits too big for one response. Same filters, same
 * order, same query code; it pages through the store until the end, one page in memory at a time.
 *
 * The store is the one `npm start` uses: the embedded one in DATA_DIR (a running npm start's, or opened
 * here), or DYNAMODB_ENDPOINT + TABLE_NAME; with TABLE_NAME alone (no DATA_DIR, no DYNAMODB_ENDPOINT) a
 * real AWS table, with the usual AWS credentials and region (local/shared-store.ts).
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { createDocumentClient } from '../adapters/dynamodb/client';
import { DynamoDbArchiveReader } from '../adapters/dynamodb/dynamodb-archive-reader';
import { parseArchiveQuery, planArchiveQuery } from '../domain/archive-query';
import { parseAccount } from '../domain/device-key';
import { isFailureError } from '../domain/failure';
import { UPGRADE_RECORD_FIELDS, type UpgradeRecord } from '../domain/upgrade-record';
import { ConfigurationError, type LocalConfig, parseLocalConfig } from '../functions/commons/configuration';
import { fail as failCommand, readCommandLine } from './command-line';
import { hideSdkNodeVersionWarning } from './local-logging';
import { openLocalStore } from './shared-store';

const PAGE_SIZE = 1000;
const USAGE =
  'usage: npm run export -- --account ACCOUNT [--firmware-to X] [--firmware-from X] [--status S] [--upgrade-id U] [--device-id D] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--format csv|jsonl] [--out FILE]';

/** Flag -> the upgrades route's query parameter. */
const FILTER_FLAGS = {
  'firmware-to': 'firmwareTo',
  'firmware-from': 'firmwareFrom',
  status: 'status',
  'upgrade-id': 'upgradeId',
  'device-id': 'deviceId',
  from: 'from',
  to: 'to',
} as const;

function fail(message: string): never {
  return failCommand('export', message);
}

function options() {
  const parsed = readCommandLine('export', USAGE, {
    account: { type: 'string' },
    format: { type: 'string', default: 'csv' },
    out: { type: 'string' },
    ...(Object.fromEntries(Object.keys(FILTER_FLAGS).map((flag) => [flag, { type: 'string' }])) as Record<
      keyof typeof FILTER_FLAGS,
      { type: 'string' }
    >),
  });
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (typeof values.account !== 'string') fail('no --account given (npm run export -- --help)');
  const format = values.format;
  if (format !== 'csv' && format !== 'jsonl') fail('--format must be csv or jsonl');
  let query;
  try {
    const account = parseAccount(values.account);
    const params: Record<string, string> = {};
    for (const [flag, name] of Object.entries(FILTER_FLAGS))
      if (typeof values[flag] === 'string') params[name] = values[flag] as string;
    query = parseArchiveQuery(account, params, undefined);
  } catch (error) {
    fail(
      isFailureError(error)
        ? error.message.replace(
            /\b(firmwareTo|firmwareFrom|upgradeId|deviceId)\b/g,
            (name) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
          )
        : (error as Error).message,
    );
  }
  return { query, format, out: typeof values.out === 'string' ? values.out : undefined };
}

/** RFC 4180: a header of the nine field names, CRLF line ends, quotes only where a value needs them. */
function csvLines(records: UpgradeRecord[], header: boolean): string {
  return stringify(records, { header, columns: [...UPGRADE_RECORD_FIELDS], record_delimiter: 'windows', eof: true });
}

async function write(stream: Writable, chunk: string): Promise<void> {
  if (!stream.write(chunk)) await once(stream, 'drain');
}

async function openStore(
  config: LocalConfig,
): Promise<{ reader: DynamoDbArchiveReader; description: string; close(): Promise<void> }> {
  // A running npm start's store, or the one it would open (ThingSpace is never called).
  const store = await openLocalStore(config, { createTable: true });
  const client = createDocumentClient({
    ...config.service.aws,
    ...(store.endpoint ? { endpoint: store.endpoint } : {}),
  });
  return {
    reader: new DynamoDbArchiveReader({ client, tableName: store.tableName }),
    description: store.where,
    close: async () => {
      client.destroy();
      await store.close();
    },
  };
}

async function main(): Promise<void> {
  const { query, format, out } = options();
  hideSdkNodeVersionWarning();
  let store;
  try {
    store = await openStore(parseLocalConfig(process.env));
  } catch (error) {
    fail(error instanceof ConfigurationError ? error.message : `cannot open the store: ${(error as Error).message}`);
  }
  const output: Writable = out ? createWriteStream(out) : process.stdout;
  const terminal = process.stderr.isTTY === true;
  const plan = planArchiveQuery(query.filters);
  let exported = 0;
  try {
    if (format === 'csv') await write(output, csvLines([], true));
    let after: string | undefined;
    do {
      const page = await store.reader.queryPage(query.account, plan, after, PAGE_SIZE);
      if (page.records.length > 0) {
        await write(
          output,
          format === 'csv'
            ? csvLines(page.records, false)
            : page.records.map((record) => `${JSON.stringify(record)}\n`).join(''),
        );
      }
      exported += page.records.length;
      after = page.next;
      if (terminal) process.stderr.write(`\r${exported.toLocaleString('en-US')} records exported${after ? '…' : ''}`);
    } while (after);
    if (output !== process.stdout) {
      output.end();
      await once(output, 'finish');
    }
  } catch (error) {
    if (terminal) process.stderr.write('\n');
    await store.close();
    fail(`the export stopped after ${exported} records: ${(error as Error).message}`);
  }
  await store.close();
  process.stderr.write(
    `${terminal ? '\n' : ''}${exported} records exported from ${store.description}${out ? ` to ${out}` : ''}\n`,
  );
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(0);
}

await main();
