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
import { type LambdaStandIns, startLambdaStandIns } from './lib/lambda-stand-ins';
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
  /** What the warm-up process sent the stand-ins: proof that its first event read the secret and traced. */
  secretReads?: number;
  traceDocuments?: number;
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
/** A variant's entry, relative to the project (functions/ as lib/service-function.ts's functionEntry gives the stack). */
const entryPath = (file: string) => path.join(PROJECT_ROOT, file);
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
  /** A yardstick (bench/lib/cold-floors/), not one of the service's functions. */
  floor?: boolean;
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
    file: 'functions/get-history-api.ts',
    firstEvent: 'API Gateway GET for a demo device (3 upgrades, archived)',
    event: apiGatewayEvent(),
    nodeOptions: DEPLOYED_NODE_OPTIONS,
  },
  {
    name: 'get-history-api (--enable-source-maps)',
    file: 'functions/get-history-api.ts',
    firstEvent: "same, with Node's own source maps parsed at load",
    event: apiGatewayEvent(),
    nodeOptions: NODE_SOURCE_MAPS,
  },
  {
    name: 'get-history-invoke',
    file: 'functions/get-history-invoke.ts',
    firstEvent: '{account, deviceId} for the same device',
    event: { account: DEMO_ACCOUNT, deviceId: DEMO_DEVICE_WITH_FAILURE },
    nodeOptions: DEPLOYED_NODE_OPTIONS,
  },
  {
    name: 'sync-devices',
    file: 'functions/sync-devices.ts',
    firstEvent: 'SQS batch of one device message',
    event: sqsDeviceEvent({ account: DEMO_ACCOUNT, deviceId: DEMO_DEVICE_WITH_FAILURE }),
    nodeOptions: DEPLOYED_NODE_OPTIONS,
  },
  {
    name: 'discover-fleet',
    file: 'functions/discover-fleet.ts',
    firstEvent: 'load only (its event needs SQS queues)',
    nodeOptions: DEPLOYED_NODE_OPTIONS,
  },
  {
    name: 'floor: the same libraries making the same calls, no service code',
    file: 'bench/lib/cold-floors/libraries.ts',
    firstEvent: "get-history-api's event",
    event: apiGatewayEvent(),
    nodeOptions: DEPLOYED_NODE_OPTIONS,
    floor: true,
  },
  {
    name: 'floor part: the AWS SDK clients alone',
    file: 'bench/lib/cold-floors/aws-sdk.ts',
    firstEvent: 'GetSecretValue, GetItem, 2 PutItem, Query',
    event: { account: DEMO_ACCOUNT, deviceId: DEMO_DEVICE_WITH_FAILURE },
    nodeOptions: DEPLOYED_NODE_OPTIONS,
    floor: true,
  },
  {
    name: "floor part: Powertools' Tracer alone",
    file: 'bench/lib/cold-floors/tracer.ts',
    firstEvent: 'a handler that does nothing, traced',
    event: {},
    nodeOptions: DEPLOYED_NODE_OPTIONS,
    floor: true,
  },
  {
    name: 'floor part: node:http alone',
    file: 'bench/lib/cold-floors/node-http.ts',
    firstEvent: "ThingSpace's token, session and history calls",
    event: { account: DEMO_ACCOUNT, deviceId: DEMO_DEVICE_WITH_FAILURE, credentials: DEMO_CREDENTIALS },
    nodeOptions: DEPLOYED_NODE_OPTIONS,
    floor: true,
  },
];

/**
 * What Lambda and the stack give every function, pointed at the local store and simulator: Lambda's own
 * variables (so Powertools' Tracer is on, as in Lambda, and the X-Ray SDK runs in its Lambda mode with a
 * sampled trace) and the credentials as a secret read through Secrets Manager's client.
 */
export function lambdaEnvironment(
  dynamoEndpoint: string,
  thingspaceUrl: string,
  standIns: Pick<LambdaStandIns, 'secretsManagerUrl' | 'xrayDaemonAddress'>,
  taskRoot: string,
): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    LAMBDA_TASK_ROOT: taskRoot,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: 'fota-history-bench',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/fota-history-bench',
    AWS_LAMBDA_LOG_STREAM_NAME: '2026/12/02/[$LATEST]00000000000000000000000000000000',
    _X_AMZN_TRACE_ID: 'Root=1-674d8a00-000000000000000000000001;Parent=0000000000000001;Sampled=1',
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
    AWS_XRAY_DAEMON_ADDRESS: standIns.xrayDaemonAddress,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SESSION_TOKEN: 'local',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: standIns.secretsManagerUrl,
    TABLE_NAME,
    DYNAMODB_ENDPOINT: dynamoEndpoint,
    THINGSPACE_BASE_URL: thingspaceUrl,
    THINGSPACE_SECRET_ID: 'thingspace-fota-history/credentials',
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
  let standIns: LambdaStandIns | undefined;
  try {
    standIns = await startLambdaStandIns(JSON.stringify(DEMO_CREDENTIALS));
    const admin = createDocumentClient({ endpoint: dynamo.endpoint });
    await createHistoryTable(admin, TABLE_NAME);
    admin.destroy();

    const env = lambdaEnvironment(dynamo.endpoint, simulator.url, standIns, workDir);

    const bundles = new Map<string, { file: string; kb: number } | Error>();
    for (const file of new Set(VARIANTS.map((variant) => variant.file))) {
      const outdir = path.join(workDir, path.basename(file, '.ts'));
      try {
        await build({ ...esbuildOptionsFor(entryPath(file), outdir), logLevel: 'silent' });
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
    for (const runtime of runtimes) {
      const runtimeEmpties = empties.get(runtime.path)!;
      const measured: Array<{
        variant: Variant;
        base: Omit<
          ColdStartRow,
          'medianMs' | 'p90Ms' | 'aboveEmptyMs' | 'cpuAboveEmptyMs' | 'loadMs' | 'firstEventMs' | 'ok'
        >;
        args: string[];
        env: NodeJS.ProcessEnv;
        warmUp: ChildReport;
        reports: ChildReport[];
      }> = [];
      for (const variant of VARIANTS) {
        const bundle = bundles.get(variant.file)!;
        const base = {
          name: runtime.path === process.execPath ? variant.name : `[Node ${runtime.version}] ${variant.name}`,
          node: runtime.version,
          entry: variant.file,
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
        // One discarded run each: the device's first sight is archived, the OS caches the bundle file.
        // Run alone, it also shows what one process reads from Secrets Manager and sends to X-Ray.
        const [secretReadsBefore, traceDocumentsBefore] = [standIns.secretReads(), standIns.traceDocuments()];
        const warmUp = await runChild(args, childEnv, [], runtime.path);
        await new Promise((resolve) => setTimeout(resolve, 50));
        measured.push({
          variant,
          base: {
            ...base,
            secretReads: standIns.secretReads() - secretReadsBefore,
            traceDocuments: standIns.traceDocuments() - traceDocumentsBefore,
          },
          args,
          env: childEnv,
          warmUp,
          reports: [],
        });
      }
      // Round robin, each process after an empty one: drift on the machine hits every row and its
      // yardsticks alike, so the rows of one run compare side by side.
      for (let trial = 0; trial < TRIALS; trial += 1)
        for (const entry of measured) {
          const empty = await runChild(
            ['-', '-'],
            { ...env, NODE_OPTIONS: entry.variant.nodeOptions },
            [],
            runtime.path,
          );
          runtimeEmpties.wall.push(empty.wallMs);
          runtimeEmpties.cpu.push(empty.cpuMs ?? Number.NaN);
          entry.reports.push(await runChild(entry.args, entry.env, [], runtime.path));
        }
      for (const { variant, base, warmUp, reports } of measured) {
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
    }
    const profileDir = process.env.BENCH_CPU_PROF_DIR;
    // One extra, profiled cold run each of the API and of its libraries floor (not counted above), each
    // in its own directory with its bundle and map beside the profile.
    for (const variant of profileDir ? [VARIANTS[0]!, VARIANTS.find((v) => v.floor)!] : []) {
      const bundle = bundles.get(variant.file);
      if (!profileDir || !bundle || bundle instanceof Error) continue;
      const dir = path.join(profileDir, path.basename(variant.file, '.ts'));
      // Emptied first, so the profile found below is this run's, not one left by an earlier run.
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const bundleCopy = path.join(dir, BUNDLED_HANDLER_FILE);
      copyFileSync(bundle.file, bundleCopy);
      copyFileSync(`${bundle.file}.map`, `${bundleCopy}.map`);
      const eventFile = path.join(dir, 'event.json');
      writeFileSync(eventFile, JSON.stringify(variant.event));
      const report = await runChild([bundleCopy, eventFile], { ...env, NODE_OPTIONS: DEPLOYED_NODE_OPTIONS }, [
        '--cpu-prof',
        `--cpu-prof-dir=${dir}`,
        '--cpu-prof-interval=100',
      ]);
      // --cpu-prof writes the profile as the child exits, just after its report line.
      const profile = () => readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
      for (let waited = 0; waited < 5_000 && !profile(); waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const written = profile();
      log(
        written && report.ok
          ? `cold start profile: npx tsx bench/cpu-profile-summary.ts ${path.join(dir, written)} ${bundleCopy}`
          : `cold start profile of ${variant.name} failed: ${written ? `first event ${report.error ?? report.statusCode}` : 'no profile written'}`,
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
    await standIns?.close();
    await dynamo.close();
    await simulator.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}
