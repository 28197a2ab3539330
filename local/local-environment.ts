import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureHistoryTable } from '../adapters/dynamodb/table-migration';
import { parseCredentialsJson } from '../adapters/thingspace/credentials';
import { startEmbeddedDynamoDb } from './embedded-dynamodb';
import { DEMO_CREDENTIALS, seedDemoData, startThingSpaceSimulator } from './thingspace-simulator';

/** Something in the environment that makes start-up impossible; reported as one line, no stack. */
export class LocalConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalConfigurationError';
  }
}

export interface LocalEnvironment {
  thingspace: { baseUrl: string; description: string };
  /** `dataDir` only for the embedded store. */
  store: { endpoint: string; tableName: string; description: string; dataDir?: string };
  /** Stops what this process started (simulator, embedded store), flushing the store to disk. */
  close(): Promise<void>;
}

export const DEFAULT_TABLE_NAME = 'fota-history';
const DEFAULT_DATA_DIR = './.data';

/**
 * Turns `npm start`'s environment (THINGSPACE_BASE_URL, THINGSPACE_CREDENTIALS / THINGSPACE_SECRET_ID,
 * DATA_DIR, DYNAMODB_ENDPOINT + TABLE_NAME) into the environment the deployed Lambda gets, starting
 * the built-in simulator and the embedded store where nothing else is named. Everything is checked
 * before anything is served, so a bad configuration never starts half-working.
 */
export async function prepareLocalEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<LocalEnvironment> {
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };

  // Lambda runs Node 22+; a developer machine on Node 20 need not be told on every start.
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ||= 'true';
  // Set before anything loads the handler's modules, which read them once.
  // The handler logs as it does in Lambda; locally only warnings and errors by default.
  env.POWERTOOLS_LOG_LEVEL ||= 'WARN';
  env.POWERTOOLS_METRICS_DISABLED ||= 'true';
  env.POWERTOOLS_TRACE_ENABLED ||= 'false';
  env.POWERTOOLS_SERVICE_NAME ||= 'fota-history';
  try {
    if (env.THINGSPACE_CREDENTIALS) {
      try {
        parseCredentialsJson(env.THINGSPACE_CREDENTIALS);
      } catch (error) {
        throw new LocalConfigurationError(`THINGSPACE_CREDENTIALS: ${(error as Error).message}`);
      }
    }
    const simulatorPort = parseSimulatorPort(env.SIMULATOR_PORT);
    const dataDir = env.DYNAMODB_ENDPOINT ? undefined : resolve(env.DATA_DIR || DEFAULT_DATA_DIR);
    // Conflicts first, before anything is started or created: a DATA_DIR another process holds.
    if (dataDir) await checkDataDirFree(dataDir);
    if (env.THINGSPACE_SECRET_ID && !env.THINGSPACE_CREDENTIALS) await readSecretOnce();

    let thingspace: LocalEnvironment['thingspace'];
    if (env.THINGSPACE_BASE_URL) {
      try {
        new URL(env.THINGSPACE_BASE_URL);
      } catch {
        throw new LocalConfigurationError(`THINGSPACE_BASE_URL is not a URL: ${env.THINGSPACE_BASE_URL}`);
      }
      if (!env.THINGSPACE_CREDENTIALS && !env.THINGSPACE_SECRET_ID) {
        throw new LocalConfigurationError(
          'THINGSPACE_BASE_URL is set but no credentials: set THINGSPACE_CREDENTIALS (JSON {"appKey","appSecret","username","password"}) or THINGSPACE_SECRET_ID',
        );
      }
      thingspace = { baseUrl: env.THINGSPACE_BASE_URL, description: env.THINGSPACE_BASE_URL };
    } else {
      const simulator = await startThingSpaceSimulator({ credentials: DEMO_CREDENTIALS, port: simulatorPort }).catch(
        (error: NodeJS.ErrnoException) => {
          throw new LocalConfigurationError(
            error.code === 'EADDRINUSE'
              ? `SIMULATOR_PORT ${simulatorPort} is already in use`
              : `cannot start the simulator: ${error.message}`,
          );
        },
      );
      closers.push(() => simulator.close());
      seedDemoData(simulator);
      if (!env.THINGSPACE_CREDENTIALS && !env.THINGSPACE_SECRET_ID) {
        env.THINGSPACE_CREDENTIALS = JSON.stringify(DEMO_CREDENTIALS);
      }
      env.THINGSPACE_BASE_URL = simulator.url;
      thingspace = { baseUrl: simulator.url, description: `built-in simulator at ${simulator.url} (demo data)` };
    }

    let store: LocalEnvironment['store'];
    if (env.DYNAMODB_ENDPOINT) {
      if (!env.TABLE_NAME) throw new LocalConfigurationError('DYNAMODB_ENDPOINT is set but TABLE_NAME is not');
      // DynamoDB Local and LocalStack accept any credentials; without some the SDK fails before connecting.
      useLocalAwsDefaults(env);
      await ensureTable(env.DYNAMODB_ENDPOINT, env.TABLE_NAME, env);
      store = {
        endpoint: env.DYNAMODB_ENDPOINT,
        tableName: env.TABLE_NAME,
        description: `DynamoDB at ${env.DYNAMODB_ENDPOINT}, table ${env.TABLE_NAME}`,
      };
    } else if (dataDir) {
      // LevelDB allows one process per directory; a second one would fail on its first request.
      closers.push(await lockDataDir(dataDir));
      const embedded = await startEmbeddedDynamoDb({ dataDir, thread: true }).catch((error: Error) => {
        throw new LocalConfigurationError(`cannot open the embedded store in ${dataDir}: ${error.message}`);
      });
      closers.push(() => embedded.close());
      useLocalAwsDefaults(env);
      const tableName = env.TABLE_NAME || DEFAULT_TABLE_NAME;
      await ensureTable(embedded.endpoint, tableName, env, true);
      env.DYNAMODB_ENDPOINT = embedded.endpoint;
      env.TABLE_NAME = tableName;
      // npm run login-guard and npm run callbacks, beside this process, then share its login count.
      const note = join(dataDir, STORE_ENDPOINT_FILE);
      await writeFile(note, JSON.stringify({ pid: process.pid, endpoint: embedded.endpoint, tableName }));
      closers.push(() => rm(note, { force: true }));
      store = {
        endpoint: embedded.endpoint,
        tableName,
        // As the user named it, so the banner shows no machine-specific path.
        description: `embedded DynamoDB (dynalite) with data in ${env.DATA_DIR || DEFAULT_DATA_DIR}, table ${tableName}`,
        dataDir,
      };
    } else {
      throw new LocalConfigurationError('no store: set DATA_DIR or DYNAMODB_ENDPOINT');
    }

    env.AWS_REGION ||= 'us-east-1';
    // Signs the archive routes' nextTokens; a fresh key per process, so a token outlives no restart.
    if (!env.ARCHIVE_TOKEN_KEY && !env.ARCHIVE_TOKEN_SECRET_ID)
      env.ARCHIVE_TOKEN_KEY = randomBytes(32).toString('base64url');
    return { thingspace, store, close };
  } catch (error) {
    await close();
    throw error;
  }
}

export const LOCK_FILE = 'npm-start.pid';
/** Where the process holding DATA_DIR says which address its embedded store answers on (local/shared-store.ts). */
export const STORE_ENDPOINT_FILE = 'store-endpoint.json';

/** Whether a process with this id is running (signal 0 checks without signalling). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseSimulatorPort(value: string | undefined): number {
  if (value === undefined || value === '') return 0;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new LocalConfigurationError(`SIMULATOR_PORT must be a port number, not "${value}"`);
  }
  return port;
}

/**
 * With THINGSPACE_SECRET_ID, the secret is read once now, through the provider the handler will use,
 * so a secret that cannot be read (no AWS credentials, not found, access denied, not the expected
 * JSON) stops start-up with its real cause instead of failing every request.
 */
async function readSecretOnce(): Promise<void> {
  const { readCredentialsNow } = await import('../functions/commons/history-dependencies');
  const { CredentialsUnavailableError } = await import('../adapters/thingspace/credentials');
  try {
    await readCredentialsNow();
  } catch (error) {
    if (error instanceof CredentialsUnavailableError) throw new LocalConfigurationError(error.message);
    throw error;
  }
}

/** The process holding DATA_DIR's pid file, if it still runs; nothing is created. */
async function dataDirOwner(dataDir: string): Promise<number | undefined> {
  const owner = Number((await readFile(join(dataDir, LOCK_FILE), 'utf8').catch(() => '')).trim());
  return Number.isInteger(owner) && owner > 0 && owner !== process.pid && isRunning(owner) ? owner : undefined;
}

async function checkDataDirFree(dataDir: string): Promise<void> {
  const owner = await dataDirOwner(dataDir);
  if (owner !== undefined) throw dataDirInUse(dataDir, owner);
}

function dataDirInUse(dataDir: string, owner: number): LocalConfigurationError {
  return new LocalConfigurationError(
    `DATA_DIR ${dataDir} is in use by another npm start or npm run sync (pid ${owner}); stop it or set another DATA_DIR`,
  );
}

/**
 * Claims DATA_DIR for this process with a pid file, so a second `npm start` (or `npm run sync`) on it
 * stops with one clear line instead of crashing on LevelDB's lock. A pid file left by a process that
 * no longer runs (killed with SIGKILL) is taken over. Returns the closer that releases the claim.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = join(dataDir, LOCK_FILE);
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (error) {
    throw new LocalConfigurationError(`cannot create DATA_DIR ${dataDir}: ${(error as Error).message}`);
  }
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new LocalConfigurationError(`cannot use DATA_DIR ${dataDir}: ${(error as Error).message}`);
      }
      const owner = await dataDirOwner(dataDir);
      if (owner !== undefined) throw dataDirInUse(dataDir, owner);
      await rm(lockPath, { force: true });
    }
  }
  throw new LocalConfigurationError(`DATA_DIR ${dataDir} is being claimed by another process; try again`);
}

/** dynalite accepts any credentials; the SDK still wants some and a region. */
function useLocalAwsDefaults(env: NodeJS.ProcessEnv): void {
  env.AWS_REGION ||= 'us-east-1';
  if (!env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE && !env.THINGSPACE_SECRET_ID) {
    env.AWS_ACCESS_KEY_ID = 'local';
    env.AWS_SECRET_ACCESS_KEY = 'local';
  }
}

async function ensureTable(
  endpoint: string,
  tableName: string,
  env: NodeJS.ProcessEnv,
  embedded = false,
): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: env.AWS_REGION || 'us-east-1',
    // The embedded store accepts any signature: it must not depend on the AWS credentials (or their
    // absence) meant for THINGSPACE_SECRET_ID.
    ...(embedded && !env.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 5_000 },
  });
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') {
      client.destroy();
      throw new LocalConfigurationError(`the store at ${endpoint} is not reachable: ${(error as Error).message}`);
    }
  }
  try {
    // A table from before the archive-query indexes (or a migration cut short) is brought up to date
    // here, before anything reads or writes it. stderr: `npm run export` may be writing to stdout.
    const result = await ensureHistoryTable(client, tableName);
    if (result.action === 'migrated') {
      process.stderr.write(
        `Migrated table ${tableName} to the archive-query indexes: ${result.items} item${result.items === 1 ? '' : 's'} copied\n`,
      );
    }
  } finally {
    client.destroy();
  }
}
