/**
 * Sections 1 and 2: the npm start server (its own process, embedded dynalite inside it) in front of
 * the simulator (its own process, answering FOTA calls after 50 ms).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import type autocannon from 'autocannon';
import { DEMO_ACCOUNT, DEMO_CREDENTIALS, DEMO_DEVICE_WITH_FAILURE } from '../local/thingspace-simulator';
import { SyntheticFleet } from '../local/thingspace-simulator/synthetic-fleet';
import { START_UP_STAGE, type StageRow, summarizeStages } from './cpu-profile-summary';
import { peakRssMb, type StartedChild } from './lib/children';
import {
  baselineRoot,
  PROJECT_ROOT,
  type SimulatorProcess,
  SYNTHETIC_ACCOUNT,
  startDynaliteProcess,
  startForwardingProxy,
  startServiceProcess,
  startSimulatorProcess,
} from './lib/environment';
import { runLoad } from './lib/load';
import { median, percentile, round } from './lib/stats';
import { fotaHeaders } from './lib/thingspace-tokens';

interface SideComparison {
  service: { p50Ms: number; p95Ms: number };
  direct: { p50Ms: number; p95Ms: number };
  ratioP50: number;
  ratioP95: number;
  overheadP50Ms: number;
}

export interface WarmOverheadResult extends SideComparison {
  simulatorLatencyMs: number;
  requestsPerSide: number;
  device: string;
  /** npm start with DYNAMODB_ENDPOINT: the store in its own process, as DynamoDB is in AWS (10-record device). */
  serviceExternalStore: { p50Ms: number; p95Ms: number; ratioP50: number; ratioP95: number; overheadP50Ms: number };
  /**
   * A process that only forwards the direct call (bench/lib/forwarding-proxy.mjs), against the same direct
   * calls: the floor of any service that runs in a process of its own (10-record device).
   */
  hopFloor: { p50Ms: number; p95Ms: number; ratioP50: number; ratioP95: number; overheadP50Ms: number };
  /** BENCH_BASELINE_DIR's server with the 10-record device against the same direct calls, when given. */
  baseline?: { p50Ms: number; p95Ms: number; ratioP50: number; ratioP95: number; overheadP50Ms: number };
  /** The same comparison for a device with 10 archived, unchanged upgrades (issue 14's target). */
  tenRecords: SideComparison & { device: string };
  /** The machine's load average (1, 5, 15 min) at the end of the warm comparison. */
  loadAverage: number[];
}

/** CPU of npm start's server per history request, by stage (a CPU profile of a separate server process). */
export interface StageBreakdown {
  device: string;
  requests: number;
  simulatorLatencyMs: number;
  /** CPU ms per request (all of the profile but start-up, divided by the requests). */
  cpuMsPerRequest: number;
  stages: StageRow[];
}

/** Wall-clock stages of a warm history request (median ms), npm start's server beside a forwarding process. */
export interface WallStages {
  requests: number;
  simulatorLatencyMs: number;
  rows: { stage: string; serviceMs: number; proxyMs: number | undefined }[];
  /** When the archive Query starts after the request arrives, how long it takes, and how often it is answered before ThingSpace. */
  query: { startsAfterMs: number; takesMs: number; answeredFirstPercent: number };
}

export interface ConcurrencyResult {
  connections: number;
  durationS: number;
  devices: number;
  requestsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  peakRssMb: number | undefined;
  loadAverage: number[];
  /** The same load against BENCH_BASELINE_DIR's server, in alternating rounds (A B B A), when given. */
  baseline?: Omit<ConcurrencyResult, 'baseline' | 'connections' | 'durationS' | 'devices' | 'loadAverage'> & {
    root: string;
    throughputRatio: number;
  };
}

export interface HttpServiceResults {
  warm: WarmOverheadResult;
  stages?: StageBreakdown;
  wallStages?: WallStages;
  concurrency: ConcurrencyResult;
}

const SIMULATOR_LATENCY_MS = 50;
const WARM_REQUESTS_PER_SIDE = 300;
const WARM_ROUND = 25;
const WARM_UP_REQUESTS = 50;
const CONCURRENT_CONNECTIONS = 50;
const CONCURRENCY_SECONDS = 20;
/** Synthetic devices the concurrent clients cycle through: first sights (writes) early, re-reads later. */
const CONCURRENCY_DEVICES = 1_000;
/** Sequential requests in the profiled pass (simulator latency 0 meanwhile, so it takes seconds). */
const PROFILED_REQUESTS = 1_500;
const PROFILED_WARM_UP = 100;
/** The device with 10 upgrades the benchmark adds to the simulator (PUT /_simulator/history). */
const TEN_RECORD_DEVICE = '990000473470010';

const loadAverage = () => os.loadavg().map((value) => round(value, 2));

/** Adds TEN_RECORD_DEVICE to the demo account: 10 upgrades, a fortnight apart, all finished. */
async function addTenRecordDevice(simulatorUrl: string): Promise<void> {
  const records = Array.from({ length: 10 }, (_, index) => {
    const day = new Date(Date.UTC(2026, 0, 1) + index * 15 * 86_400_000).toISOString().slice(0, 10);
    return {
      deviceId: TEN_RECORD_DEVICE,
      id: `c0ffee00-0000-4000-8000-0000000000${String(index).padStart(2, '0')}`,
      accountName: DEMO_ACCOUNT,
      firmwareFrom: `VerizonFirmwareVersion-${index}`,
      firmwareTo: `VerizonFirmwareVersion-${index + 1}`,
      startDate: day,
      upgradeStartTime: `${day}T10:00:00Z`,
      status: 'UpgradeSuccess',
      reason: 'success',
    };
  });
  await simulatorControl(simulatorUrl, 'PUT', 'history', {
    account: DEMO_ACCOUNT,
    deviceId: TEN_RECORD_DEVICE,
    records,
  });
}

async function simulatorControl(simulatorUrl: string, method: string, name: string, body: unknown): Promise<void> {
  const response = await fetch(`${simulatorUrl}/_simulator/${name}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`simulator ${name}: HTTP ${response.status} ${await response.text()}`);
}

/** Sequential requests (one connection) and their individual latencies. */
async function sequential(options: autocannon.Options & { amount: number }): Promise<number[]> {
  const latencies: number[] = [];
  let refused: number | undefined;
  const result = await runLoad({ ...options, connections: 1, timeout: 10 }, (statusCode, responseTime) => {
    if (statusCode !== 200) refused ??= statusCode;
    latencies.push(responseTime);
  });
  if (refused !== undefined) throw new Error(`HTTP ${refused} from ${options.url}`);
  if (result.errors + result.timeouts + result.non2xx > 0) throw new Error(`failed requests to ${options.url}`);
  return latencies;
}

export async function measureHttpService(log: (line: string) => void): Promise<HttpServiceResults> {
  const simulator = await startSimulatorProcess({
    latencyMs: SIMULATOR_LATENCY_MS,
    syntheticFleetSize: CONCURRENCY_DEVICES,
  });
  await addTenRecordDevice(simulator.url);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'fota-bench-data-'));
  const baselineDataDir = mkdtempSync(path.join(tmpdir(), 'fota-bench-base-data-'));
  try {
    const service = await startServiceProcess({
      thingspaceUrl: simulator.url,
      credentials: JSON.stringify(DEMO_CREDENTIALS),
      dataDir,
    });
    try {
      const store = await startDynaliteProcess();
      let warm: WarmOverheadResult;
      try {
        const serviceExternalStore = await startServiceProcess({
          thingspaceUrl: simulator.url,
          credentials: JSON.stringify(DEMO_CREDENTIALS),
          dataDir,
          dynamoDbEndpoint: store.endpoint,
        });
        const proxy = await startForwardingProxy(simulator.url);
        const base = baselineRoot();
        const baseline = base
          ? await startServiceProcess({
              thingspaceUrl: simulator.url,
              credentials: JSON.stringify(DEMO_CREDENTIALS),
              dataDir: baselineDataDir,
              root: base,
              name: 'baseline npm start server',
            })
          : undefined;
        try {
          warm = await measureWarmOverhead(
            {
              service: service.url,
              externalStore: serviceExternalStore.url,
              hopFloor: proxy.url,
              simulator: simulator.url,
            },
            log,
            baseline?.url,
          );
        } finally {
          await proxy.stop();
          await serviceExternalStore.stop();
          await baseline?.stop();
        }
      } finally {
        await store.stop();
      }
      // Stopped first: the profiled server gets the machine to itself, as much as a shared one allows.
      const wallStages = await measureWallStages(simulator.url, log);
      const stages = await measureStages(simulator, log);
      const concurrency = await measureConcurrency(service, simulator.url, log);
      return { warm, stages, wallStages, concurrency };
    } finally {
      await service.stop();
    }
  } finally {
    await simulator.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(baselineDataDir, { recursive: true, force: true });
  }
}

/** The newest bundle launch.mjs built in `root` (its map beside it). */
function newestStartBundle(root: string): string | undefined {
  const dir = path.join(root, '.build');
  const bundles = readdirSync(dir)
    .filter((name) => name.startsWith(`start.node${process.versions.node}.`) && /\.[0-9a-f]+\.mjs$/.test(name))
    .map((name) => path.join(dir, name));
  return bundles.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

const STAGE_TIMER = path.join(PROJECT_ROOT, 'bench/lib/stage-timer.mjs');

interface TimedRequest {
  start: number;
  finish: number;
  calls: { path: string; start: number; answered?: number }[];
}

/** Asks a process started with the stage timer for its marks, and stops it. */
async function stageMarks(child: StartedChild, file: string) {
  child.child.kill('SIGUSR2');
  for (let waited = 0; waited < 5_000 && !existsSync(file); waited += 50)
    await new Promise((resolve) => setTimeout(resolve, 50));
  await child.stop();
  if (!existsSync(file)) throw new Error(`no stage marks in ${file}`);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as TimedRequest);
}

/**
 * Where a warm history request's wall time goes (issue 14's per-stage timer): npm start's server and the
 * forwarding process, each with bench/lib/stage-timer.mjs preloaded (Node's HTTP diagnostics channels;
 * nothing in the service is instrumented), the 10-record device asked sequentially of both, interleaved.
 */
async function measureWallStages(simulatorUrl: string, log: (line: string) => void): Promise<WallStages> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fota-bench-wall-'));
  const files = { service: path.join(dir, 'service.jsonl'), proxy: path.join(dir, 'proxy.jsonl') };
  const timed = (file: string) => ({ nodeArgs: ['--import', STAGE_TIMER], env: { STAGE_TIMER_FILE: file } });
  try {
    const service = await startServiceProcess({
      thingspaceUrl: simulatorUrl,
      credentials: JSON.stringify(DEMO_CREDENTIALS),
      dataDir: path.join(dir, 'data'),
      name: 'timed npm start server',
      ...timed(files.service),
    });
    const proxy = await startForwardingProxy(simulatorUrl, timed(files.proxy));
    const headers = await fotaHeaders(simulatorUrl, DEMO_CREDENTIALS);
    const tenPath = `/reports/${DEMO_ACCOUNT}/devices/${TEN_RECORD_DEVICE}`;
    const sides = [{ url: `${service.url}${tenPath}` }, { url: `${proxy.url}/api/fota/v1${tenPath}`, headers }];
    let serviceMarks: TimedRequest[];
    let proxyMarks: TimedRequest[];
    try {
      for (const side of sides) await sequential({ ...side, amount: WARM_UP_REQUESTS });
      for (let round = 0; round * WARM_ROUND < WARM_REQUESTS_PER_SIDE; round += 1)
        for (const side of round % 2 ? [...sides].reverse() : sides) await sequential({ ...side, amount: WARM_ROUND });
    } finally {
      serviceMarks = await stageMarks(service, files.service);
      proxyMarks = await stageMarks(proxy, files.proxy);
    }
    const measured = (marks: TimedRequest[]) =>
      marks.slice(WARM_UP_REQUESTS).map((request) => {
        const upstream = request.calls.find((call) => call.path.startsWith('/api/fota/v1/reports/'))!;
        const store = request.calls.find((call) => !call.path.startsWith('/api/'));
        return { ...request, upstream, store };
      });
    const onService = measured(serviceMarks);
    const onProxy = measured(proxyMarks);
    const stage = (name: string, of: (request: (typeof onService)[number]) => number) => ({
      stage: name,
      serviceMs: round(median(onService.map(of)), 3),
      proxyMs: round(median(onProxy.map(of)), 3),
    });
    const withStore = onService.filter((request) => request.store?.answered !== undefined);
    const result: WallStages = {
      requests: onService.length,
      simulatorLatencyMs: SIMULATOR_LATENCY_MS,
      rows: [
        stage(
          'request in → ThingSpace request sent (HTTP parse, event, middy and Powertools, token check)',
          (r) => r.upstream.start - r.start,
        ),
        stage('ThingSpace request sent → its answer arrives', (r) => r.upstream.answered! - r.upstream.start),
        stage(
          'ThingSpace answer → response finished (read, screen, plan, merge, serialize, write)',
          (r) => r.finish - r.upstream.answered!,
        ),
        stage('request in → response finished', (r) => r.finish - r.start),
      ],
      query: {
        startsAfterMs: round(median(withStore.map((r) => r.store!.start - r.start)), 3),
        takesMs: round(median(withStore.map((r) => r.store!.answered! - r.store!.start)), 3),
        answeredFirstPercent: round(
          (100 * withStore.filter((r) => r.store!.answered! < r.upstream.answered!).length) /
            Math.max(1, onService.length),
          1,
        ),
      },
    };
    log(
      `wall stages: before upstream ${result.rows[0]!.serviceMs} ms (proxy ${result.rows[0]!.proxyMs}), after ${result.rows[2]!.serviceMs} ms (proxy ${result.rows[2]!.proxyMs}); Query answered first ${result.query.answeredFirstPercent}%`,
    );
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Where npm start's server spends its CPU on a warm history request: a server of its own under
 * --cpu-prof, sequential requests for the 10-record device with the simulator answering at once
 * (so the profile is all work, no waiting), summarized by stage (bench/cpu-profile-summary.ts).
 */
async function measureStages(simulator: SimulatorProcess, log: (line: string) => void): Promise<StageBreakdown> {
  const profileDir = mkdtempSync(path.join(tmpdir(), 'fota-bench-prof-'));
  const dataDir = mkdtempSync(path.join(tmpdir(), 'fota-bench-prof-data-'));
  await simulatorControl(simulator.url, 'PUT', 'latency', { latencyMs: 0 });
  try {
    const profiled = await startServiceProcess({
      thingspaceUrl: simulator.url,
      credentials: JSON.stringify(DEMO_CREDENTIALS),
      dataDir,
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval=200'],
      name: 'profiled npm start server',
    });
    const url = `${profiled.url}/reports/${DEMO_ACCOUNT}/devices/${TEN_RECORD_DEVICE}`;
    try {
      await sequential({ url, amount: PROFILED_WARM_UP });
      await sequential({ url, amount: PROFILED_REQUESTS });
    } finally {
      await profiled.stop();
    }
    // --cpu-prof writes the profile as the process exits.
    let profile: string | undefined;
    for (let waited = 0; waited < 5_000 && !profile; waited += 100) {
      profile = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
      if (!profile) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (!profile) throw new Error('the profiled server wrote no profile');
    const requests = PROFILED_WARM_UP + PROFILED_REQUESTS;
    const rows = summarizeStages(path.join(profileDir, profile), newestStartBundle(PROJECT_ROOT), requests).filter(
      (row) => row.stage !== START_UP_STAGE,
    );
    const cpuMsPerRequest = round(rows.reduce((sum, row) => sum + row.ms, 0) / requests, 3);
    log(`stages: ${cpuMsPerRequest} ms CPU per request; ${rows[0]?.stage} the largest`);
    return {
      device: `${DEMO_ACCOUNT}/${TEN_RECORD_DEVICE} (10 upgrades, archived, unchanged)`,
      requests,
      simulatorLatencyMs: 0,
      cpuMsPerRequest,
      stages: rows.map((row) => ({
        stage: row.stage,
        ms: round(row.ms, 1),
        msPerRequest: round(row.msPerRequest ?? 0, 3),
      })),
    };
  } finally {
    await simulatorControl(simulator.url, 'PUT', 'latency', { latencyMs: SIMULATOR_LATENCY_MS });
    rmSync(profileDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function compare(service: number[], direct: number[]): SideComparison {
  return {
    service: { p50Ms: round(percentile(service, 50)), p95Ms: round(percentile(service, 95)) },
    direct: { p50Ms: round(percentile(direct, 50)), p95Ms: round(percentile(direct, 95)) },
    ratioP50: round(percentile(service, 50) / percentile(direct, 50), 3),
    ratioP95: round(percentile(service, 95) / percentile(direct, 95), 3),
    overheadP50Ms: round(percentile(service, 50) - percentile(direct, 50)),
  };
}

async function measureWarmOverhead(
  urls: { service: string; externalStore: string; hopFloor: string; simulator: string },
  log: (line: string) => void,
  baselineUrl?: string,
): Promise<WarmOverheadResult> {
  const { service: serviceUrl, externalStore: externalStoreServiceUrl, simulator: simulatorUrl } = urls;
  const headers = await fotaHeaders(simulatorUrl, DEMO_CREDENTIALS);
  const threePath = `/reports/${DEMO_ACCOUNT}/devices/${DEMO_DEVICE_WITH_FAILURE}`;
  const tenPath = `/reports/${DEMO_ACCOUNT}/devices/${TEN_RECORD_DEVICE}`;
  const side = {
    service: { url: `${serviceUrl}${threePath}` },
    direct: { url: `${simulatorUrl}/api/fota/v1${threePath}`, headers },
    service10: { url: `${serviceUrl}${tenPath}` },
    direct10: { url: `${simulatorUrl}/api/fota/v1${tenPath}`, headers },
    external10: { url: `${externalStoreServiceUrl}${tenPath}` },
    proxy10: { url: `${urls.hopFloor}/api/fota/v1${tenPath}`, headers },
    baseline10: { url: `${baselineUrl}${tenPath}` },
  };
  const names = [
    'service',
    'direct',
    'service10',
    'direct10',
    'external10',
    'proxy10',
    ...(baselineUrl ? (['baseline10'] as const) : []),
  ] as const;
  // Warm-up (discarded): JIT, the service's token and session, its first sight of the device.
  for (const name of names) await sequential({ ...side[name], amount: WARM_UP_REQUESTS });

  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<
    (typeof names)[number],
    number[]
  >;
  for (let round = 0; samples.service.length < WARM_REQUESTS_PER_SIDE; round += 1) {
    // Rotate which side goes first, so drift on the machine hits every side alike.
    for (let index = 0; index < names.length; index += 1) {
      const name = names[(index + round) % names.length]!;
      samples[name].push(...(await sequential({ ...side[name], amount: WARM_ROUND })));
    }
  }
  const three = compare(samples.service, samples.direct);
  const ten = compare(samples.service10, samples.direct10);
  const external = compare(samples.external10, samples.direct10);
  const floor = compare(samples.proxy10, samples.direct10);
  const baseline = baselineUrl ? compare(samples.baseline10, samples.direct10) : undefined;
  const result: WarmOverheadResult = {
    simulatorLatencyMs: SIMULATOR_LATENCY_MS,
    requestsPerSide: samples.service.length,
    device: `${DEMO_ACCOUNT}/${DEMO_DEVICE_WITH_FAILURE} (3 upgrades, archived, unchanged)`,
    ...three,
    tenRecords: { device: `${DEMO_ACCOUNT}/${TEN_RECORD_DEVICE} (10 upgrades, archived, unchanged)`, ...ten },
    serviceExternalStore: { ...external.service, ...pick(external) },
    hopFloor: { ...floor.service, ...pick(floor) },
    ...(baseline ? { baseline: { ...baseline.service, ...pick(baseline) } } : {}),
    loadAverage: loadAverage(),
  };
  log(
    `warm: 3 records ratio ${three.ratioP50} (p95 ${three.ratioP95}); 10 records ratio ${ten.ratioP50} (p95 ${ten.ratioP95}), store in its own process ${external.ratioP50}, forwarding proxy (floor) ${floor.ratioP50} (p95 ${floor.ratioP95})${baseline ? `, baseline build ${baseline.ratioP50} (p95 ${baseline.ratioP95})` : ''}; load ${result.loadAverage.join(' ')}`,
  );
  return result;
}

function pick({ ratioP50, ratioP95, overheadP50Ms }: SideComparison) {
  return { ratioP50, ratioP95, overheadP50Ms };
}

/** One autocannon run of CONCURRENT_CONNECTIONS clients cycling over the synthetic fleet. */
async function concurrentLoad(serviceUrl: string, durationS: number) {
  const fleet = new SyntheticFleet(SYNTHETIC_ACCOUNT, { size: CONCURRENCY_DEVICES, recordsPerDevice: 3 });
  let next = 0;
  const latencies: number[] = [];
  const result = await runLoad(
    {
      url: serviceUrl,
      connections: CONCURRENT_CONNECTIONS,
      duration: durationS,
      timeout: 10,
      requests: [
        {
          method: 'GET',
          setupRequest: (request) => {
            const deviceId = fleet.deviceIdAt(next % CONCURRENCY_DEVICES);
            next += 1;
            return { ...request, path: `/reports/${SYNTHETIC_ACCOUNT}/devices/${deviceId}` };
          },
        },
      ],
    },
    (_statusCode, responseTime) => latencies.push(responseTime),
  );
  return {
    latencies,
    requests: result.requests.total,
    duration: result.duration,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

type LoadRun = Awaited<ReturnType<typeof concurrentLoad>>;

function summarizeLoad(runs: LoadRun[], pid: number) {
  const latencies = runs.flatMap((run) => run.latencies);
  const requests = runs.reduce((sum, run) => sum + run.requests, 0);
  const duration = runs.reduce((sum, run) => sum + run.duration, 0);
  const rss = peakRssMb(pid);
  return {
    requestsPerSecond: round(requests / duration, 1),
    p50Ms: round(percentile(latencies, 50)),
    p95Ms: round(percentile(latencies, 95)),
    p99Ms: round(percentile(latencies, 99)),
    requests,
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    peakRssMb: rss === undefined ? undefined : round(rss, 1),
  };
}

/**
 * Section 2: 50 clients through npm start. With BENCH_BASELINE_DIR, that checkout's server (its own
 * store, the same simulator) takes the same load in alternating halves (this, baseline, baseline,
 * this), so both see the same machine; each server's first half includes its first sights (writes).
 */
async function measureConcurrency(
  service: { url: string; pid: number },
  simulatorUrl: string,
  log: (line: string) => void,
): Promise<ConcurrencyResult> {
  const base = baselineRoot();
  const shape = { connections: CONCURRENT_CONNECTIONS, durationS: CONCURRENCY_SECONDS, devices: CONCURRENCY_DEVICES };
  if (!base) {
    const concurrency = {
      ...shape,
      ...summarizeLoad([await concurrentLoad(service.url, CONCURRENCY_SECONDS)], service.pid),
      loadAverage: loadAverage(),
    };
    log(
      `concurrency: ${concurrency.requestsPerSecond} req/s, p95 ${concurrency.p95Ms} ms, errors ${concurrency.errors}`,
    );
    return concurrency;
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), 'fota-bench-base-data-'));
  try {
    const baseline = await startServiceProcess({
      thingspaceUrl: simulatorUrl,
      credentials: JSON.stringify(DEMO_CREDENTIALS),
      dataDir,
      root: base,
      name: 'baseline npm start server',
    });
    try {
      const half = CONCURRENCY_SECONDS / 2;
      const own: LoadRun[] = [await concurrentLoad(service.url, half)];
      const theirs: LoadRun[] = [await concurrentLoad(baseline.url, half)];
      theirs.push(await concurrentLoad(baseline.url, half));
      own.push(await concurrentLoad(service.url, half));
      const mine = summarizeLoad(own, service.pid);
      const other = summarizeLoad(theirs, baseline.pid);
      const concurrency: ConcurrencyResult = {
        ...shape,
        ...mine,
        loadAverage: loadAverage(),
        baseline: { root: base, ...other, throughputRatio: round(mine.requestsPerSecond / other.requestsPerSecond, 2) },
      };
      log(
        `concurrency: ${mine.requestsPerSecond} req/s (baseline ${other.requestsPerSecond}, x${concurrency.baseline!.throughputRatio}), p95 ${mine.p95Ms} ms (baseline ${other.p95Ms}), errors ${mine.errors} (baseline ${other.errors}); load ${concurrency.loadAverage.join(' ')}`,
      );
      return concurrency;
    } finally {
      await baseline.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
