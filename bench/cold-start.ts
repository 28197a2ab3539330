/**
 * Section 3: each Lambda bundled exactly as the stack bundles it (lib/lambda-bundling.ts through
 * esbuild's API), then fresh Node processes that load it and serve one event, against empty ones.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';
import { createDocumentClient } from '../adapters/dynamodb/client';
import { createHistoryTable } from '../adapters/dynamodb/table-schema';
import { BUNDLED_HANDLER_FILE, esbuildOptionsFor } from '../lib/lambda-bundling';
import { startEmbeddedDynamoDb } from '../local/embedded-dynamodb';
import { apiGatewayProxyEvent, sqsEvent, sqsRecord } from '../local/lambda-emulation';
import { DEMO_ACCOUNT, DEMO_CREDENTIALS, DEMO_DEVICE_WITH_FAILURE } from '../local/thingspace-simulator';
import { track } from './lib/children';
import { PROJECT_ROOT, startSimulatorProcess } from './lib/environment';
import { median, percentile, round } from './lib/stats';

export interface ColdStartRow {
  name: string;
  entry: string;
  /** What the fresh process did after loading the bundle. */
  firstEvent: string;
  nodeOptions: string;
  /** The Node binary's version (`process.version` of the runtime that ran it). */
  node: string;
  bundleKb: number | undefined;
  /** Median wall time from spawn to the answer of the first event (or to loaded, for load-only rows). */
  medianMs: number | undefined;
  p90Ms: number | undefined;
  /** medianMs minus the median of an empty process of the same Node binary. */
  aboveEmptyMs: number | undefined;
  /** Median CPU time (user + system, all threads) of the process minus the empty process's. */
  cpuAboveEmptyMs: number | undefined;
  /** Inside the process: import of the bundle, then the first event. */
  loadMs: number | undefined;
  firstEventMs: number | undefined;
  ok: boolean;
  note?: string;
}

export interface ColdStartResults {
  trials: number;
  simulatorLatencyMs: number;
  /** The benchmark's own Node binary's empty process. */
  emptyProcess: { medianMs: number; p90Ms: number; cpuMs: number };
  /** With BENCH_NODE: that binary's version and empty process; its rows name it. */
  otherNode?: { version: string; emptyProcess: { medianMs: number; p90Ms: number; cpuMs: number } };
  rows: ColdStartRow[];
}

const TRIALS = 12;
/** The path lib/service-function.ts's functionEntry gives the stack (not imported: it loads aws-cdk-lib). */
const functionEntry = (file: string) => path.join(PROJECT_ROOT, 'functions', file);
const CHILD = path.join(PROJECT_ROOT, 'bench/cold-start-child.mjs');
const CHILD_TIMEOUT_MS = 15_000;
export const TABLE_NAME = 'fota-history-bench';
/** The stack's NODE_OPTIONS (lib/service-function.ts sets none: the bundle maps its stack traces itself). */
const DEPLOYED_NODE_OPTIONS = '';
/** What the stack set before functions/commons/source-mapped-stacks.ts, kept as one row to compare with. */
const NODE_SOURCE_MAPS = '--enable-source-maps';

interface Variant {
  name: string;
  file: string;
  firstEvent: string;
  event?: unknown;
  nodeOptions: string;
}

export interface ChildReport {
  wallMs: number;
  loadMs?: number;
  firstEventMs?: number;
  ok?: boolean;
  cpuMs?: number;
  statusCode?: number;
  failures?: number;
  error?: string;
}

/** Spawns one fresh process and times it from spawn to its report line. */
export function runChild(
  args: string[],
  env: NodeJS.ProcessEnv,
  nodeArgs: readonly string[] = [],
  node: string = process.execPath,
): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const child = track(spawn(node, [...nodeArgs, CHILD, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    let settled = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      if (!settled) reject(new Error(`cold-start child timed out: ${args.join(' ')}`));
      settled = true;
    }, CHILD_TIMEOUT_MS);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2_000);
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('@@bench ') || settled) return;
      const wallMs = performance.now() - startedAt;
      settled = true;
      resolve({ wallMs, ...(JSON.parse(line.slice('@@bench '.length)) as Omit<ChildReport, 'wallMs'>) });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!settled) reject(new Error(`cold-start child exited (${code}) without a report: ${stderr}`));
      settled = true;
    });
  });
}

/** The proxy event API Gateway delivers for GET /reports/{account}/devices/{deviceId}, as npm start builds it. */
export function apiGatewayEvent(): unknown {
  return apiGatewayProxyEvent({
    method: 'GET',
    path: `/reports/${DEMO_ACCOUNT}/devices/${DEMO_DEVICE_WITH_FAILURE}`,
    pathParameters: { account: DEMO_ACCOUNT, deviceId: DEMO_DEVICE_WITH_FAILURE },
    headers: { accept: 'application/json', 'user-agent': 'bench' },
  });
}

function sqsDeviceEvent(body: unknown): unknown {
  return sqsEvent([sqsRecord(JSON.stringify(body), { queueName: 'fota-history-sync' })]);
}

/**
 * BENCH_NODE: another Node binary (e.g. the Lambda runtime's major version) that runs every variant
 * again, against its own empty process.
 */
function otherNode(): { path: string; version: string } | undefined {
  const node = process.env.BENCH_NODE;
  if (!node) return undefined;
  return { path: node, version: execFileSync(node, ['--version'], { encoding: 'utf8' }).trim() };
}

const VARIANTS: Variant[] = [
  {
    name: 'get-history-api',
    file: 'get-history-api.ts',
    firstEvent: 'API Gateway GET for a demo device (3 upgrades, archived)',
    event: apiGatewayEvent(),
    nodeOptions: DEPLOYED_NODE_OPTIONS,
  },
  {
    name: 'get-history-api (--enable-source-maps)',
    file: 'get-history-api.ts',
    firstEvent: "same, with Node's own source maps parsed at load",
    event: apiGatewayEvent(),
    nodeOptions: NODE_SOURCE_MAPS,
  },
  {
    name: 'get-history-invoke',
    file: 'get-history-invoke.ts',
    firstEvent: '{account, deviceId} for the same device',
    event: { account: DEMO_ACCOUNT, deviceId: DEMO_DEVICE_WITH_FAILURE },
    nodeOptions: DEPLOYED_NODE_OPTIONS,
  },
  {
    name: 'sync-devices',
    file: 'sync-devices.ts',
    firstEvent: 'SQS batch of one device message',
    event: sqsDeviceEvent({ account: DEMO_ACCOUNT, deviceId: DEMO_DEVICE_WITH_FAILURE }),
    nodeOptions: DEPLOYED_NODE_OPTIONS,
  },
  {
    name: 'discover-fleet',
    file: 'discover-fleet.ts',
    firstEvent: 'load only (its event needs SQS queues)',
    nodeOptions: DEPLOYED_NODE_OPTIONS,
  },
];

/** What the stack gives every function, pointed at the local store and simulator. */
export function lambdaEnvironment(dynamoEndpoint: string, thingspaceUrl: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    TABLE_NAME,
    DYNAMODB_ENDPOINT: dynamoEndpoint,
    THINGSPACE_BASE_URL: thingspaceUrl,
    THINGSPACE_CREDENTIALS: JSON.stringify(DEMO_CREDENTIALS),
    SYNC_DLQ_URL: 'http://127.0.0.1:9/000000000000/fota-history-sync-dlq',
    SYNC_QUEUE_URL: 'http://127.0.0.1:9/000000000000/fota-history-sync',
    DISCOVERY_QUEUE_URL: 'http://127.0.0.1:9/000000000000/fota-history-discovery',
    POWERTOOLS_SERVICE_NAME: 'fota-history',
    POWERTOOLS_METRICS_NAMESPACE: 'FotaHistory',
    POWERTOOLS_LOG_LEVEL: 'INFO',
  };
}

export async function measureColdStart(log: (line: string) => void): Promise<ColdStartResults> {
  const workDir = mkdtempSync(path.join(tmpdir(), 'fota-bench-cold-'));
  const simulator = await startSimulatorProcess({ latencyMs: 0 });
  const dynamo = await startEmbeddedDynamoDb();
  try {
    const admin = createDocumentClient({ endpoint: dynamo.endpoint });
    await createHistoryTable(admin, TABLE_NAME);
    admin.destroy();

    const env = lambdaEnvironment(dynamo.endpoint, simulator.url);

    const bundles = new Map<string, { file: string; kb: number } | Error>();
    for (const file of new Set(VARIANTS.map((variant) => variant.file))) {
      const outdir = path.join(workDir, file.replace(/\.ts$/, ''));
      try {
        await build({ ...esbuildOptionsFor(functionEntry(file), outdir), logLevel: 'silent' });
        const bundleFile = path.join(outdir, BUNDLED_HANDLER_FILE);
        bundles.set(file, { file: bundleFile, kb: round(statSync(bundleFile).size / 1024, 1) });
      } catch (error) {
        bundles.set(file, error as Error);
      }
    }

    const other = otherNode();
    const runtimes = [{ path: process.execPath, version: process.version }, ...(other ? [other] : [])];
    // Each runtime's empty processes, by binary: a row is compared with its own runtime's.
    const empties = new Map(runtimes.map((runtime) => [runtime.path, { wall: [] as number[], cpu: [] as number[] }]));
    const rowRuntime = new Map<ColdStartRow, string>();
    const rows: ColdStartRow[] = [];
    for (const runtime of runtimes)
      for (const variant of VARIANTS) {
        const bundle = bundles.get(variant.file)!;
        const runtimeEmpties = empties.get(runtime.path)!;
        const base: Omit<
          ColdStartRow,
          'medianMs' | 'p90Ms' | 'aboveEmptyMs' | 'cpuAboveEmptyMs' | 'loadMs' | 'firstEventMs' | 'ok'
        > = {
          name: runtime.path === process.execPath ? variant.name : `${variant.name} on Node ${runtime.version}`,
          node: runtime.version,
          entry: `functions/${variant.file}`,
          firstEvent: variant.firstEvent,
          nodeOptions: variant.nodeOptions || '(none)',
          bundleKb: bundle instanceof Error ? undefined : bundle.kb,
        };
        if (bundle instanceof Error) {
          rows.push({
            ...base,
            medianMs: undefined,
            p90Ms: undefined,
            aboveEmptyMs: undefined,
            cpuAboveEmptyMs: undefined,
            loadMs: undefined,
            firstEventMs: undefined,
            ok: false,
            note: `bundle failed: ${bundle.message.split('\n')[0]}`,
          });
          continue;
        }
        const eventFile = path.join(workDir, `${variant.name.replace(/\W+/g, '-')}.json`);
        if (variant.event !== undefined) writeFileSync(eventFile, JSON.stringify(variant.event));
        const args = [bundle.file, variant.event === undefined ? '-' : eventFile];
        const childEnv = { ...env, NODE_OPTIONS: variant.nodeOptions };
        const emptyEnv = { ...env, NODE_OPTIONS: variant.nodeOptions };

        // One discarded run: the device's first sight is archived, the OS caches the bundle file.
        const warmUp = await runChild(args, childEnv, [], runtime.path);
        const reports: ChildReport[] = [];
        for (let trial = 0; trial < TRIALS; trial += 1) {
          // Interleaved with empty processes, so drift on the machine hits both alike.
          const empty = await runChild(['-', '-'], emptyEnv, [], runtime.path);
          runtimeEmpties.wall.push(empty.wallMs);
          runtimeEmpties.cpu.push(empty.cpuMs ?? Number.NaN);
          reports.push(await runChild(args, childEnv, [], runtime.path));
        }
        const failed = [warmUp, ...reports].find(
          (report) =>
            !report.ok || (report.statusCode !== undefined && report.statusCode !== 200) || (report.failures ?? 0) > 0,
        );
        const walls = reports.map((report) => report.wallMs);
        rows.push({
          ...base,
          medianMs: round(median(walls), 1),
          p90Ms: round(percentile(walls, 90), 1),
          aboveEmptyMs: undefined,
          cpuAboveEmptyMs: median(reports.map((report) => report.cpuMs ?? Number.NaN)),
          loadMs: round(median(reports.map((report) => report.loadMs ?? Number.NaN)), 1),
          firstEventMs:
            variant.event === undefined
              ? undefined
              : round(median(reports.map((report) => report.firstEventMs ?? Number.NaN)), 1),
          ok: failed === undefined,
          ...(failed
            ? {
                note: `first event failed: ${failed.error ?? `status ${failed.statusCode}, failures ${failed.failures}`}`,
              }
            : {}),
        });
        rowRuntime.set(rows.at(-1)!, runtime.path);
        log(`cold start ${rows.at(-1)!.name}: median ${rows.at(-1)!.medianMs} ms (load ${rows.at(-1)!.loadMs} ms)`);
      }
    const profileDir = process.env.BENCH_CPU_PROF_DIR;
    const api = bundles.get(VARIANTS[0]!.file);
    if (profileDir && api && !(api instanceof Error)) {
      // One extra, profiled cold run of the API (not counted above), its bundle and map kept beside it.
      mkdirSync(profileDir, { recursive: true });
      copyFileSync(api.file, path.join(profileDir, BUNDLED_HANDLER_FILE));
      copyFileSync(`${api.file}.map`, path.join(profileDir, `${BUNDLED_HANDLER_FILE}.map`));
      const eventFile = path.join(profileDir, 'event.json');
      writeFileSync(eventFile, JSON.stringify(VARIANTS[0]!.event));
      const bundleCopy = path.join(profileDir, BUNDLED_HANDLER_FILE);
      await runChild([bundleCopy, eventFile], { ...env, NODE_OPTIONS: DEPLOYED_NODE_OPTIONS }, [
        '--cpu-prof',
        `--cpu-prof-dir=${profileDir}`,
        '--cpu-prof-interval=100',
      ]);
      // --cpu-prof writes the profile as the child exits, just after its report line.
      for (
        let waited = 0;
        waited < 5_000 && !readdirSync(profileDir).some((name) => name.endsWith('.cpuprofile'));
        waited += 100
      ) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      log(
        `cold start profile in ${profileDir}: npx tsx bench/cpu-profile-summary.ts ${profileDir}/<file>.cpuprofile ${bundleCopy}`,
      );
    }
    const emptyOf = (node: string) => {
      const { wall, cpu } = empties.get(node)!;
      return { medianMs: round(median(wall), 1), p90Ms: round(percentile(wall, 90), 1), cpuMs: round(median(cpu), 1) };
    };
    for (const row of rows) {
      const empty = emptyOf(rowRuntime.get(row) ?? process.execPath);
      if (row.medianMs !== undefined) row.aboveEmptyMs = round(row.medianMs - empty.medianMs, 1);
      if (row.cpuAboveEmptyMs !== undefined) row.cpuAboveEmptyMs = round(row.cpuAboveEmptyMs - empty.cpuMs, 1);
    }
    return {
      trials: TRIALS,
      simulatorLatencyMs: 0,
      emptyProcess: emptyOf(process.execPath),
      ...(other ? { otherNode: { version: other.version, emptyProcess: emptyOf(other.path) } } : {}),
      rows,
    };
  } finally {
    await dynamo.close();
    await simulator.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}
