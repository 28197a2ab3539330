/**
 * The store the local commands (export, callbacks, login-guard) open: the one npm start uses, so their
 * ThingSpace logins count in the same login guard.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  ConfigurationError,
  DEFAULT_DATA_DIR,
  DEFAULT_TABLE_NAME,
  ENV,
  type LocalConfig,
} from '../functions/commons/configuration';
import { startEmbeddedDynamoDb } from './embedded-dynamodb';
import { ensureTable, LOCK_FILE, lockDataDir, STORE_ENDPOINT_FILE } from './local-environment';

export interface OpenedStore {
  /** Undefined for a table in AWS (usual credentials and region). */
  endpoint?: string;
  tableName: string;
  /** For the operator: which store this is. */
  where: string;
  close(): Promise<void>;
}

/**
 * The store `npm start` would use, for the login guard's count in particular, so a command never logs
 * in to ThingSpace outside the count every other process shares: DYNAMODB_ENDPOINT + TABLE_NAME,
 * TABLE_NAME alone (a real AWS table), or else the embedded store in DATA_DIR (default ./.data): the one
 * a running npm start serves on it, or opened here when none runs. `createTable` creates the table in a
 * DATA_DIR that has none yet, and brings one from before the archive-query indexes up to date, as
 * npm start does (adapters/dynamodb/table-migration.ts).
 */
export async function openLocalStore(
  config: LocalConfig,
  options: { createTable?: boolean } = {},
): Promise<OpenedStore> {
  const { tableName: givenTable, dynamoDbEndpoint } = config.service;
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch(() => undefined);
  };
  if (dynamoDbEndpoint) {
    if (!givenTable) throw new ConfigurationError(`${ENV.DYNAMODB_ENDPOINT} is set but ${ENV.TABLE_NAME} is not`);
    if (options.createTable) await ensureTable(dynamoDbEndpoint, givenTable);
    return {
      endpoint: dynamoDbEndpoint,
      tableName: givenTable,
      where: `table ${givenTable} at ${dynamoDbEndpoint}`,
      close,
    };
  }
  if (givenTable && !config.dataDir) return { tableName: givenTable, where: `DynamoDB table ${givenTable}`, close };
  const dataDir = resolve(config.dataDir ?? DEFAULT_DATA_DIR);
  try {
    try {
      // The embedded store opens in one process at a time.
      closers.push(await lockDataDir(dataDir));
    } catch (error) {
      const running = await runningStore(dataDir);
      if (!running) throw error;
      return {
        ...running,
        where: `embedded store of npm start (pid ${running.pid}) in ${dataDir}, table ${running.tableName}`,
        close,
      };
    }
    const embedded = await startEmbeddedDynamoDb({ dataDir });
    closers.push(() => embedded.close());
    const tableName = givenTable || DEFAULT_TABLE_NAME;
    if (options.createTable) await ensureTable(embedded.endpoint, tableName, true);
    return { endpoint: embedded.endpoint, tableName, where: `embedded store in ${dataDir}, table ${tableName}`, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The embedded store a live process announced in dataDir, if any. */
async function runningStore(
  dataDir: string,
): Promise<{ pid: number; endpoint: string; tableName: string } | undefined> {
  try {
    const note = JSON.parse(await readFile(join(dataDir, STORE_ENDPOINT_FILE), 'utf8')) as {
      pid?: unknown;
      endpoint?: unknown;
      tableName?: unknown;
    };
    const owner = Number((await readFile(join(dataDir, LOCK_FILE), 'utf8')).trim());
    if (note.pid !== owner || typeof note.endpoint !== 'string' || typeof note.tableName !== 'string') return undefined;
    return { pid: owner, endpoint: note.endpoint, tableName: note.tableName };
  } catch {
    return undefined;
  }
}
