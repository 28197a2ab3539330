/**
 * `npm run bench`: the service's performance, measured side by side in one run on this machine.
 * `npm run bench -- cold dynamodb` runs only the named sections (warm, per-stage CPU and concurrency
 * share one set-up: `http`; then `start`, `cold`, `dynamodb`, `sync`; `archive` only when named) and
 * writes bench/results/partial.tmp instead of latest.json. BENCH_BASELINE_DIR=<another checkout, e.g. a
 * worktree of main with node_modules> adds that build to the concurrency and start comparisons.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ArchiveReadResults, measureArchiveReads } from './archive-reads';
import { type ColdStartResults, measureColdStart } from './cold-start';
import { type DynamoDbCostResults, measureDynamoDbCost } from './dynamodb-cost';
import { type HttpServiceResults, measureHttpService } from './http-service';
import { killAllStartedChildren, stopAllStartedChildren } from './lib/children';
import { PROJECT_ROOT, TSX_NODE_ARGS } from './lib/environment';
import { measureStartTime, type StartTimeResults } from './start-time';
import { measureSyncThroughput, type SyncThroughputResult } from './sync';

const SECTIONS = ['http', 'start', 'cold', 'dynamodb', 'sync'] as const;
/**
 * Run only when named: `archive` loads 100,000 records into dynalite first (several minutes on 2 cores)
 * and has its own time allowance; a pass over 1,000,000 devices takes far longer than the rest.
 */
const EXTRA_SECTIONS = ['archive', 'discovery1m'] as const;
type Section = (typeof SECTIONS)[number] | (typeof EXTRA_SECTIONS)[number];
const ARCHIVE_LIMIT_MS = 900_000;
/** A hard bound on the whole run; everything started is killed when it is reached. */
const RUN_LIMIT_MS = 900_000;

interface BenchResults {
  date: string;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; platform: string };
  /** The load average (1, 5, 15 min) when the run started and when it ended: the machine is shared. */
  loadAverage: { start: number[]; end?: number[] };
  http?: HttpServiceResults;
  start?: StartTimeResults;
  coldStart?: ColdStartResults;
  dynamodb?: DynamoDbCostResults;
  archive?: ArchiveReadResults;
  sync?: SyncThroughputResult;
  discovery1m?: Record<string, unknown>;
}

const loadAverage = () => os.loadavg().map((value) => Math.round(value * 100) / 100);

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

// The SDK's notice that it will need Node 22 in 2027 (Lambda runs 24) would otherwise fill the output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ||= 'true';

function selectedSections(): Section[] {
  const asked = process.argv.slice(2);
  if (asked.length === 0) return [...SECTIONS];
  const known: readonly string[] = [...SECTIONS, ...EXTRA_SECTIONS];
  const unknown = asked.filter((name) => !known.includes(name));
  if (unknown.length > 0) throw new Error(`unknown section(s) ${unknown.join(', ')}; choose from ${known.join(', ')}`);
  return asked as Section[];
}

const fmt = (value: number | undefined, unit = '') =>
  value === undefined || Number.isNaN(value) ? 'n/a' : `${value}${unit}`;

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

export function renderTables(results: BenchResults): string {
  const parts: string[] = [
    `${results.date}, ${results.machine.cpus} CPUs, Node ${results.machine.node.replace(/^v/, '')}; load average (1, 5, 15 min) at the start ${results.loadAverage.start.join(' ')}${results.loadAverage.end ? `, at the end ${results.loadAverage.end.join(' ')}` : ''}`,
  ];
  const { http, coldStart, dynamodb, sync, archive } = results;
  if (http) {
    const { warm, stages, wallStages, concurrency } = http;
    const ten = warm.tenRecords;
    parts.push(
      `### 1. Warm overhead (simulator answers after ${warm.simulatorLatencyMs} ms; ${warm.requestsPerSide} sequential requests per side, interleaved; load ${warm.loadAverage.join(' ')})`,
      table(
        ['path', 'p50', 'p95'],
        [
          [
            'device with 10 upgrades through npm start (service; the embedded store on its own thread)',
            fmt(ten.service.p50Ms, ' ms'),
            fmt(ten.service.p95Ms, ' ms'),
          ],
          [
            'same, DYNAMODB_ENDPOINT = dynalite in its own process',
            fmt(warm.serviceExternalStore.p50Ms, ' ms'),
            fmt(warm.serviceExternalStore.p95Ms, ' ms'),
          ],
          [
            'same device through a process that only forwards it (bench/lib/forwarding-proxy.mjs)',
            fmt(warm.hopFloor.p50Ms, ' ms'),
            fmt(warm.hopFloor.p95Ms, ' ms'),
          ],
          [
            'same device straight to the simulator (direct)',
            fmt(ten.direct.p50Ms, ' ms'),
            fmt(ten.direct.p95Ms, ' ms'),
          ],
          [
            '**ratio service/direct, 10 upgrades (target p50 <= 1.03, p95 <= 1.08)**',
            `**${ten.ratioP50}** (+${ten.overheadP50Ms} ms)`,
            `**${ten.ratioP95}**`,
          ],
          [
            'ratio forwarding proxy/direct: the floor of one more hop on this machine',
            `${warm.hopFloor.ratioP50} (+${warm.hopFloor.overheadP50Ms} ms)`,
            `${warm.hopFloor.ratioP95}`,
          ],
          [
            'ratio with the store in its own process, 10 upgrades',
            `${warm.serviceExternalStore.ratioP50} (+${warm.serviceExternalStore.overheadP50Ms} ms)`,
            `${warm.serviceExternalStore.ratioP95}`,
          ],
          ...(warm.baseline
            ? [
                [
                  'ratio of the baseline build (BENCH_BASELINE_DIR)/direct, 10 upgrades',
                  `${warm.baseline.ratioP50} (+${warm.baseline.overheadP50Ms} ms)`,
                  `${warm.baseline.ratioP95}`,
                ],
              ]
            : []),
          ['device with 3 upgrades through npm start', fmt(warm.service.p50Ms, ' ms'), fmt(warm.service.p95Ms, ' ms')],
          ['same device direct', fmt(warm.direct.p50Ms, ' ms'), fmt(warm.direct.p95Ms, ' ms')],
          ['ratio service/direct, 3 upgrades', `${warm.ratioP50} (+${warm.overheadP50Ms} ms)`, `${warm.ratioP95}`],
        ],
      ),
    );
    if (wallStages) {
      const { query } = wallStages;
      parts.push(
        `### 1c. Wall time of a warm request, by stage (median of ${wallStages.requests} sequential requests for the 10-upgrade device, simulator latency ${wallStages.simulatorLatencyMs} ms; marks from Node's HTTP diagnostics channels, bench/lib/stage-timer.mjs)`,
        table(
          ['stage', 'npm start', 'forwarding process (floor)'],
          wallStages.rows.map((row) => [row.stage, fmt(row.serviceMs, ' ms'), fmt(row.proxyMs, ' ms')]),
        ),
        `The archive Query starts ${query.startsAfterMs} ms after the request arrives and takes ${query.takesMs} ms; it is answered before ThingSpace in ${query.answeredFirstPercent}% of requests.`,
      );
    }
    if (stages) {
      parts.push(
        `### 1b. npm start's CPU per warm request, by stage (${stages.requests} sequential requests for the 10-upgrade device, simulator latency ${stages.simulatorLatencyMs} ms, one server under --cpu-prof; ${stages.cpuMsPerRequest} ms CPU per request in all)`,
        table(
          ['stage', 'CPU per request'],
          stages.stages.map((row) => [row.stage, fmt(row.msPerRequest, ' ms')]),
        ),
      );
    }
    const base = concurrency.baseline;
    parts.push(
      `### 2. Concurrency (${concurrency.connections} clients for ${concurrency.durationS} s, ${concurrency.devices} devices; load ${concurrency.loadAverage.join(' ')})`,
      table(
        ['server', 'requests/s', 'p50', 'p95', 'p99', 'requests', 'errors', 'peak RSS of the server'],
        [
          ['this build', concurrency, concurrency.peakRssMb] as const,
          ...(base ? [[`baseline (${base.root})`, base, base.peakRssMb] as const] : []),
        ].map(([name, run, rss]) => [
          name,
          fmt(run.requestsPerSecond),
          fmt(run.p50Ms, ' ms'),
          fmt(run.p95Ms, ' ms'),
          fmt(run.p99Ms, ' ms'),
          fmt(run.requests),
          fmt(run.errors),
          fmt(rss, ' MB'),
        ]),
      ),
      ...(base ? [`throughput this build / baseline: **${base.throughputRatio}** (target >= 1.5)`] : []),
    );
  }
  if (results.start) {
    const { start } = results;
    parts.push(
      `### Start-up: spawn to listening (median of ${start.trials}, interleaved; load ${start.loadAverage.join(' ')})`,
      table(
        ['command', 'median', 'p90', 'min', 'max'],
        start.rows.map((row) => [
          row.name,
          fmt(row.medianMs, ' ms'),
          fmt(row.p90Ms, ' ms'),
          fmt(row.minMs, ' ms'),
          fmt(row.maxMs, ' ms'),
        ]),
      ),
    );
  }
  if (coldStart) {
    parts.push(
      `### 3. Cold start (median of ${coldStart.trials} fresh processes; empty Node process: ${coldStart.emptyProcess.medianMs} ms, ${coldStart.emptyProcess.cpuMs} ms CPU${coldStart.otherNode ? `; on Node ${coldStart.otherNode.version}: ${coldStart.otherNode.emptyProcess.medianMs} ms, ${coldStart.otherNode.emptyProcess.cpuMs} ms CPU` : ''}; simulator latency ${coldStart.simulatorLatencyMs} ms)`,
      table(
        [
          'function',
          'bundle',
          'first event',
          'spawn to answer',
          'above empty (target <= 60 ms)',
          'CPU above empty',
          'load',
          'first event',
          'secret reads, trace datagrams (at least) of one process',
          'ok',
        ],
        coldStart.rows.map((row) => [
          row.name,
          fmt(row.bundleKb, ' KB'),
          row.firstEvent,
          fmt(row.medianMs, ' ms'),
          `**${fmt(row.aboveEmptyMs, ' ms')}**`,
          fmt(row.cpuAboveEmptyMs, ' ms'),
          fmt(row.loadMs, ' ms'),
          fmt(row.firstEventMs, ' ms'),
          `${fmt(row.secretReads)}, ${fmt(row.traceDocuments)}`,
          row.ok ? 'yes' : `no: ${row.note ?? ''}`,
        ]),
      ),
    );
  }
  if (dynamodb) {
    parts.push(
      '### 4. DynamoDB request units per API request',
      table(
        ['scenario', 'read units', 'write units', 'operations', 'archive result'],
        dynamodb.rows.map((row) => [
          row.scenario,
          fmt(row.readUnits),
          fmt(row.writeUnits),
          Object.entries(row.operations)
            .map(([name, count]) => `${count} ${name.replace(/Command$/, '')}`)
            .join(', '),
          row.archive
            ? `${row.archive.inserted} inserted, ${row.archive.updated} updated, ${row.archive.unchanged} unchanged`
            : 'n/a',
        ]),
      ),
      `(${dynamodb.capacitySource})`,
    );
  }
  if (sync) {
    parts.push(
      '### 5. Sync throughput',
      sync.measured
        ? table(['devices', 'devices/s'], [[fmt(sync.devices), fmt(sync.devicesPerSecond)]])
        : `not measured: ${sync.reason}`,
    );
  }
  if (archive) {
    parts.push(
      `### 6. Archive queries (${fmt(archive.records)} records of ${fmt(archive.devices)} devices in the embedded store, loaded in ${archive.loadSeconds} s)`,
      table(
        ['query', 'samples', 'p50', 'p95', 'records per call', 'read units per call', 'Query calls per call'],
        archive.rows.map((row) => [
          row.query,
          fmt(row.samples),
          `${row.p50Ms} ms`,
          `${row.p95Ms} ms`,
          fmt(row.recordsPerCall),
          fmt(row.readUnitsPerCall),
          fmt(row.queriesPerCall),
        ]),
      ),
    );
  }
  return parts.join('\n\n');
}

async function main(): Promise<void> {
  const sections = selectedSections();
  const results: BenchResults = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
    },
    loadAverage: { start: loadAverage() },
  };
  if (sections.includes('http')) results.http = await measureHttpService(log);
  if (sections.includes('start')) results.start = await measureStartTime(log);
  if (sections.includes('cold')) results.coldStart = await measureColdStart(log);
  if (sections.includes('dynamodb')) results.dynamodb = await measureDynamoDbCost(log);
  if (sections.includes('sync')) results.sync = await measureSyncThroughput(log);
  if (sections.includes('archive')) results.archive = await measureArchiveReads(log);
  if (sections.includes('discovery1m')) {
    // Its own process and no time cap: the numbers are the point, however long it takes.
    clearTimeout(limit);
    const child = spawnSync(process.execPath, [...TSX_NODE_ARGS, path.join(PROJECT_ROOT, 'bench/discovery-1m.ts')], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
    });
    const line = child.stdout
      .trim()
      .split('\n')
      .reverse()
      .find((text) => text.startsWith('{'));
    results.discovery1m = line ? (JSON.parse(line) as Record<string, unknown>) : { failed: `exit ${child.status}` };
    process.stdout.write(`discovery1m: ${line ?? 'no result'}\n`);
  }

  results.loadAverage.end = loadAverage();
  const full = SECTIONS.every((section) => sections.includes(section));
  const dir = path.join(PROJECT_ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, full ? 'latest.json' : 'partial.tmp');
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${renderTables(results)}\n\nwritten to ${path.relative(PROJECT_ROOT, file)}\n`);
}

const limit = setTimeout(
  () => {
    log(`the run exceeded its time limit; stopping everything it started`);
    killAllStartedChildren();
    process.exit(1);
  },
  RUN_LIMIT_MS + (process.argv.slice(2).includes('archive') ? ARCHIVE_LIMIT_MS : 0),
);
limit.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllStartedChildren();
    process.exit(130);
  });
}
process.once('exit', killAllStartedChildren);

try {
  await main();
  await stopAllStartedChildren();
  clearTimeout(limit);
  // Keep-alive sockets in clients of the benchmark itself must not hold the process open.
  process.exit(0);
} catch (error) {
  log(`failed: ${(error as Error).stack ?? String(error)}`);
  await stopAllStartedChildren();
  process.exit(1);
}
