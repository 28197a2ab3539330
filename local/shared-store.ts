import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { createDocumentClient } from '../adapters/dynamodb/client';
import { createHistoryTable } from '../adapters/dynamodb/table-schema';
import { startEmbeddedDynamoDb } from './embedded-dynamodb';
import {
  DEFAULT_TABLE_NAME,
  LOCK_FILE,
  LocalConfigurationError,
  lockDataDir,
  STORE_ENDPOINT_FILE,
} from './local-environment';

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
 * DATA_DIR that has none yet.
 */
export async function openLocalStore(
  env: NodeJS.ProcessEnv,
  options: { createTable?: boolean } = {},
): Promise<OpenedStore> {
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch(() => undefined);
  };
  if (env.DYNAMODB_ENDPOINT) {
    if (!env.TABLE_NAME) throw new LocalConfigurationError('DYNAMODB_ENDPOINT is set but TABLE_NAME is not');
    return {
      endpoint: env.DYNAMODB_ENDPOINT,
      tableName: env.TABLE_NAME,
      where: `table ${env.TABLE_NAME} at ${env.DYNAMODB_ENDPOINT}`,
      close,
    };
  }
  if (env.TABLE_NAME && !env.DATA_DIR)
    return { tableName: env.TABLE_NAME, where: `DynamoDB table ${env.TABLE_NAME}`, close };
  const dataDir = resolve(env.DATA_DIR || './.data');
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
    const tableName = env.TABLE_NAME || DEFAULT_TABLE_NAME;
    if (options.createTable) await ensureTable(embedded.endpoint, tableName);
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

async function ensureTable(endpoint: string, tableName: string): Promise<void> {
  const client = createDocumentClient({ endpoint, maxAttempts: 2 });
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
    await createHistoryTable(client, tableName);
  } finally {
    client.destroy();
  }
}
