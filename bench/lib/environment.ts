/**
 * How the benchmarks start what they measure, each in its own process: the simulator, npm start, dynalite.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_TABLE_NAME, ENV } from '../../functions/commons/configuration';
import { type StartedChild, startChild } from './children';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const HOST = '127.0.0.1';

/** The account main.ts gives its synthetic fleet (SYNTHETIC_FLEET_SIZE). */
export const SYNTHETIC_ACCOUNT = '0000000001-00001';

/** Node running TypeScript through tsx's loader: the child's pid is the process doing the work. */
export const TSX_NODE_ARGS = ['--import', 'tsx'];

export interface SimulatorProcess extends StartedChild {
  url: string;
}

/** The built-in simulator (local/thingspace-simulator/main.ts) in its own process, demo data seeded. */
export async function startSimulatorProcess(options: {
  latencyMs: number;
  syntheticFleetSize?: number;
}): Promise<SimulatorProcess> {
  const started = await startChild(
    process.execPath,
    [...TSX_NODE_ARGS, path.join(PROJECT_ROOT, 'local/thingspace-simulator/main.ts')],
    {
      cwd: PROJECT_ROOT,
      name: 'ThingSpace simulator',
      ready: /listening on (http:\/\/\S+)/,
      env: {
        ...process.env,
        [ENV.PORT]: '0',
        [ENV.HOST]: HOST,
        [ENV.LATENCY_MS]: String(options.latencyMs),
        [ENV.SYNTHETIC_FLEET_SIZE]: String(options.syntheticFleetSize ?? 0),
        [ENV.SYNTHETIC_RECORDS]: '3',
      },
    },
  );
  return { ...started, url: started.match[1]! };
}

export interface ServiceProcess extends StartedChild {
  url: string;
}

/**
 * `npm start` in its own process as the README runs it (`node local/launch.mjs start`: the bundled
 * entry), pointed at a running simulator, its store in `dataDir`. `root` runs another checkout's
 * (a build of main, for a comparison in the same run).
 */
export async function startServiceProcess(options: {
  thingspaceUrl: string;
  credentials: string;
  dataDir: string;
  /** A DynamoDB endpoint in another process; the embedded store (npm start's default) when omitted. */
  dynamoDbEndpoint?: string;
  root?: string;
  /** Node options for the server process (e.g. --cpu-prof). */
  nodeArgs?: readonly string[];
  /** More environment for the server process. */
  env?: NodeJS.ProcessEnv;
  name?: string;
}): Promise<ServiceProcess> {
  const root = options.root ?? PROJECT_ROOT;
  const started = await startChild(
    process.execPath,
    [...(options.nodeArgs ?? []), path.join(root, 'local/launch.mjs'), 'start'],
    {
      cwd: root,
      name: options.name ?? 'npm start server',
      ready: /listening on (http:\/\/\S+)/,
      env: {
        ...process.env,
        [ENV.PORT]: '0',
        [ENV.HOST]: HOST,
        [ENV.THINGSPACE_BASE_URL]: options.thingspaceUrl,
        [ENV.THINGSPACE_CREDENTIALS]: options.credentials,
        [ENV.DATA_DIR]: options.dataDir,
        [ENV.DYNAMODB_ENDPOINT]: options.dynamoDbEndpoint ?? '',
        [ENV.TABLE_NAME]: options.dynamoDbEndpoint ? DEFAULT_TABLE_NAME : '',
        [ENV.LOG_FORMAT]: 'json',
        ...options.env,
      },
    },
  );
  return { ...started, url: started.match[1]! };
}

/** The checkout to compare with (BENCH_BASELINE_DIR, e.g. a worktree of main with its node_modules), if any. */
export function baselineRoot(): string | undefined {
  return process.env.BENCH_BASELINE_DIR || undefined;
}

/** bench/lib/forwarding-proxy.mjs in front of `upstreamUrl`: one more hop that does nothing else. */
export async function startForwardingProxy(
  upstreamUrl: string,
  options: { nodeArgs?: readonly string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<StartedChild & { url: string }> {
  const started = await startChild(
    process.execPath,
    [...(options.nodeArgs ?? []), path.join(PROJECT_ROOT, 'bench/lib/forwarding-proxy.mjs'), upstreamUrl],
    {
      cwd: PROJECT_ROOT,
      name: 'forwarding proxy',
      ready: /listening on (http:\/\/\S+)/,
      env: { ...process.env, ...options.env },
    },
  );
  return { ...started, url: started.match[1]! };
}

/** dynalite in its own process (bench/lib/dynalite-main.ts), in memory. */
export async function startDynaliteProcess(): Promise<StartedChild & { endpoint: string }> {
  const started = await startChild(
    process.execPath,
    [...TSX_NODE_ARGS, path.join(PROJECT_ROOT, 'bench/lib/dynalite-main.ts')],
    {
      cwd: PROJECT_ROOT,
      name: 'dynalite',
      ready: /listening on (http:\/\/\S+)/,
      env: process.env,
    },
  );
  return { ...started, endpoint: started.match[1]! };
}
