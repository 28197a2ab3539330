/**
 * What npm start and npm run sync run against: the configuration made whole (simulator, embedded store),
 * the claim on DATA_DIR, the table.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureHistoryTable } from '../adapters/dynamodb/table-migration';
import { type CredentialsProvider, CredentialsUnavailableError } from '../adapters/thingspace/credentials';
import {
  ConfigurationError,
  DEFAULT_DATA_DIR,
  DEFAULT_TABLE_NAME,
  ENV,
  type LocalConfig,
  type ServiceConfig,
} from '../functions/commons/configuration';
import { thingSpaceCredentials } from '../functions/commons/history-dependencies';
import { startEmbeddedDynamoDb } from './embedded-dynamodb';
import { DEMO_CREDENTIALS, seedDemoData, startThingSpaceSimulator } from './thingspace-simulator';

export interface LocalEnvironment {
  thingspace: { baseUrl: string; description: string };
  /** `dataDir` only for the embedded store. */
  store: { endpoint: string; tableName: string; description: string; dataDir?: string };
  /**
   * What the handlers are built from on this machine: the configuration given, with the simulator's
   * URL and demo credentials, the store's endpoint and table, and an archive token key filled in.
   */
  service: ServiceConfig;
  /** The ThingSpace credentials, already read once (THINGSPACE_SECRET_ID): pass them to the handlers. */
  credentials: CredentialsProvider;
  /** Stops what this process started (simulator, embedded store), flushing the store to disk. */
  close(): Promise<void>;
}

/**
 * Turns `npm start`'s configuration (THINGSPACE_BASE_URL, THINGSPACE_CREDENTIALS / THINGSPACE_SECRET_ID,
 * DATA_DIR, DYNAMODB_ENDPOINT + TABLE_NAME) into the configuration the deployed Lambda gets, starting
 * the built-in simulator and the embedded store where nothing else is named. Everything is checked
 * before anything is served, so a bad configuration never starts half-working.
 */
export async function prepareLocalEnvironment(local: LocalConfig): Promise<LocalEnvironment> {
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };
  const given = local.service;
  try {
    const shownDataDir = local.dataDir ?? DEFAULT_DATA_DIR;
    const dataDir = given.dynamoDbEndpoint ? undefined : resolve(shownDataDir);
    // Conflicts first, before anything is started or created: a DATA_DIR another process holds.
    if (dataDir) await checkDataDirFree(dataDir);
    let credentials = thingSpaceCredentialsOrNone(given.thingspace);
    if (given.thingspace.secretId && !given.thingspace.credentials && credentials) await readSecretOnce(credentials);

    let thingspace: LocalEnvironment['thingspace'];
    if (local.thingspaceBaseUrl) {
      try {
        new URL(local.thingspaceBaseUrl);
      } catch {
        throw new ConfigurationError(`${ENV.THINGSPACE_BASE_URL} is not a URL: ${local.thingspaceBaseUrl}`);
      }
      if (!credentials) {
        throw new ConfigurationError(
          `${ENV.THINGSPACE_BASE_URL} is set but no credentials: set ${ENV.THINGSPACE_CREDENTIALS} (JSON {"appKey","appSecret","username","password"}) or ${ENV.THINGSPACE_SECRET_ID}`,
        );
      }
      thingspace = { baseUrl: local.thingspaceBaseUrl, description: local.thingspaceBaseUrl };
    } else {
      const simulatorPort = local.simulatorPort;
      const simulator = await startThingSpaceSimulator({ credentials: DEMO_CREDENTIALS, port: simulatorPort }).catch(
        (error: NodeJS.ErrnoException) => {
          throw new ConfigurationError(
            error.code === 'EADDRINUSE'
              ? `${ENV.SIMULATOR_PORT} ${simulatorPort} is already in use`
              : `cannot start the simulator: ${error.message}`,
          );
        },
      );
      closers.push(() => simulator.close());
      seedDemoData(simulator);
      credentials ??= async () => DEMO_CREDENTIALS;
      thingspace = { baseUrl: simulator.url, description: `built-in simulator at ${simulator.url} (demo data)` };
    }

    let store: LocalEnvironment['store'];
    if (given.dynamoDbEndpoint) {
      if (!given.tableName)
        throw new ConfigurationError(`${ENV.DYNAMODB_ENDPOINT} is set but ${ENV.TABLE_NAME} is not`);
      await ensureTable(given.dynamoDbEndpoint, given.tableName);
      store = {
        endpoint: given.dynamoDbEndpoint,
        tableName: given.tableName,
        description: `DynamoDB at ${given.dynamoDbEndpoint}, table ${given.tableName}`,
      };
    } else if (dataDir) {
      // LevelDB allows one process per directory; a second one would fail on its first request.
      closers.push(await lockDataDir(dataDir));
      const embedded = await startEmbeddedDynamoDb({ dataDir, thread: true }).catch((error: Error) => {
        throw new ConfigurationError(`cannot open the embedded store in ${dataDir}: ${error.message}`);
      });
      closers.push(() => embedded.close());
      const tableName = given.tableName || DEFAULT_TABLE_NAME;
      await ensureTable(embedded.endpoint, tableName, true);
      // npm run login-guard and npm run callbacks, beside this process, then share its login count.
      const note = join(dataDir, STORE_ENDPOINT_FILE);
      await writeFile(note, JSON.stringify({ pid: process.pid, endpoint: embedded.endpoint, tableName }));
      closers.push(() => rm(note, { force: true }));
      store = {
        endpoint: embedded.endpoint,
        tableName,
        // As the user named it, so the banner shows no machine-specific path.
        description: `embedded DynamoDB (dynalite) with data in ${shownDataDir}, table ${tableName}`,
        dataDir,
      };
    } else {
      throw new ConfigurationError(`no store: set ${ENV.DATA_DIR} or ${ENV.DYNAMODB_ENDPOINT}`);
    }

    const service: ServiceConfig = {
      ...given,
      tableName: store.tableName,
      dynamoDbEndpoint: store.endpoint,
      thingspace: { ...given.thingspace, baseUrl: thingspace.baseUrl },
      // Signs the archive routes' nextTokens; a fresh key per process, so a token outlives no restart.
      archiveToken:
        given.archiveToken.key || given.archiveToken.secretId
          ? given.archiveToken
          : { key: randomBytes(32).toString('base64url') },
    };
    return { thingspace, store, service, credentials, close };
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

/** The configured credentials (inline, or the secret's), or none: the simulator's demo ones then. */
function thingSpaceCredentialsOrNone(config: ServiceConfig['thingspace']): CredentialsProvider | undefined {
  return config.credentials || config.secretId ? thingSpaceCredentials(config) : undefined;
}

/**
 * With THINGSPACE_SECRET_ID, the secret is read once now, through the provider the handler will use,
 * so a secret that cannot be read (no AWS credentials, not found, access denied, not the expected
 * JSON) stops start-up with its real cause instead of failing every request.
 */
async function readSecretOnce(credentials: CredentialsProvider): Promise<void> {
  try {
    await credentials();
  } catch (error) {
    if (error instanceof CredentialsUnavailableError) throw new ConfigurationError(error.message);
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

function dataDirInUse(dataDir: string, owner: number): ConfigurationError {
  return new ConfigurationError(
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
    throw new ConfigurationError(`cannot create DATA_DIR ${dataDir}: ${(error as Error).message}`);
  }
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new ConfigurationError(`cannot use DATA_DIR ${dataDir}: ${(error as Error).message}`);
      }
      const owner = await dataDirOwner(dataDir);
      if (owner !== undefined) throw dataDirInUse(dataDir, owner);
      await rm(lockPath, { force: true });
    }
  }
  throw new ConfigurationError(`DATA_DIR ${dataDir} is being claimed by another process; try again`);
}

/** A local endpoint (dynalite, DynamoDB Local) accepts any credentials; the SDK still wants some and a region. */
export async function ensureTable(endpoint: string, tableName: string, embedded = false): Promise<void> {
  const env = process.env;
  const client = new DynamoDBClient({
    endpoint,
    region: env[ENV.AWS_REGION] || 'us-east-1',
    // The embedded store accepts any signature: it must not depend on the AWS credentials (or their
    // absence) meant for THINGSPACE_SECRET_ID. DynamoDB Local and LocalStack accept any credentials
    // too; without some the SDK fails before connecting.
    ...((embedded && !env[ENV.AWS_ACCESS_KEY_ID]) ||
    (!env[ENV.AWS_ACCESS_KEY_ID] && !env[ENV.AWS_PROFILE] && !env[ENV.THINGSPACE_SECRET_ID])
      ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 5_000 },
  });
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') {
      client.destroy();
      throw new ConfigurationError(`the store at ${endpoint} is not reachable: ${(error as Error).message}`);
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
