/**
 * `npm run soak`: does `npm start` hold under a long mixed load on one machine? Starts the ThingSpace
 * simulator (its own process, a large synthetic fleet) and `npm start`'s server (its own process, own
 * DATA_DIR, the embedded store inside it, as a user runs it), then drives it with autocannon: re-reads
 * of devices already seen, first sights of new ones (archive writes), and a few bad requests. Prints the
 * server's RSS at start, after warm-up and at the end (with the growth after warm-up), p50/p99 and errors.
 * It reports; it does not gate. Everything it starts is stopped when it ends, fails, hits its hard bound
 * or is interrupted.
 *
 *   npm run soak                                   # 10 minutes, 50 clients
 *   npm run soak -- --duration 120 --clients 20    # shorter
 *   npm run soak -- --help
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEMO_CREDENTIALS } from '../local/thingspace-simulator';
import { SyntheticFleet } from '../local/thingspace-simulator/synthetic-fleet';
import { killAllStartedChildren, stopAllStartedChildren } from './lib/children';
import { SYNTHETIC_ACCOUNT, startServiceProcess, startSimulatorProcess } from './lib/environment';
import { runLoad } from './lib/load';
import { percentile, round } from './lib/stats';

const USAGE = `usage: npm run soak -- [--duration SECONDS] [--clients N] [--warmup SECONDS] [--devices N] [--latency MS] [--limit MB]
  --duration  length of the load (default 600)
  --clients   concurrent connections (default 50)
  --warmup    seconds after which RSS must stay flat (default 60)
  --devices   synthetic devices in the simulator's fleet (default 200000)
  --latency   simulator answer latency in ms (default 20)
  --limit     RSS bound in MB the run is judged against (default 400)`;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '600' },
    clients: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '60' },
    devices: { type: 'string', default: '200000' },
    latency: { type: 'string', default: '20' },
    limit: { type: 'string', default: '400' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

function positive(name: string, value: string | undefined, allowZero = false): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < (allowZero ? 0 : 1)) {
    process.stderr.write(`soak: --${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer\n${USAGE}\n`);
    process.exit(2);
  }
  return number;
}

const durationS = positive('duration', args.duration);
const clients = positive('clients', args.clients);
const warmupS = Math.min(positive('warmup', args.warmup, true), durationS);
const deviceCount = positive('devices', args.devices);
const latencyMs = positive('latency', args.latency, true);
const limitMb = positive('limit', args.limit);
/** One request in this many is malformed (an invalid device id) and must be answered 400. */
const BAD_REQUEST_EVERY = 50;
const SAMPLE_EVERY_MS = 5_000;
/** Start-up, stop and slack on top of the load; past it everything is killed. */
const HARD_BOUND_MS = (durationS + 120) * 1_000;

const log = (line: string) => process.stdout.write(`${line}\n`);
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ||= 'true';

function rssMb(pid: number): number | undefined {
  try {
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : round(Number(kb) / 1024, 1);
  } catch {
    return undefined;
  }
}

const loadAverage = () =>
  loadavg()
    .map((value) => value.toFixed(1))
    .join(' / ');
const mb = (value: number | undefined) => (value === undefined ? 'n/a' : `${value} MB`);

async function soak(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'fota-soak-data-'));
  try {
    const simulator = await startSimulatorProcess({ latencyMs, syntheticFleetSize: deviceCount });
    const service = await startServiceProcess({
      thingspaceUrl: simulator.url,
      credentials: JSON.stringify(DEMO_CREDENTIALS),
      dataDir,
    });
    const fleet = new SyntheticFleet(SYNTHETIC_ACCOUNT, { size: deviceCount, recordsPerDevice: 3 });

    const startRss = rssMb(service.pid);
    log(`soak: ${clients} clients for ${durationS} s against ${service.url} (pid ${service.pid}, DATA_DIR ${dataDir})`);
    log(`soak: simulator pid ${simulator.pid}, ${deviceCount} synthetic devices, ${latencyMs} ms latency`);
    log(
      `soak: RSS at start ${mb(startRss)}; ${cpus().length} CPUs, load average ${loadAverage()} (other work on the machine slows every number)`,
    );

    let sent = 0;
    let badSent = 0;
    let firstSights = 0;
    const latencies: number[] = [];
    const statuses = new Map<number, number>();
    const load = runLoad(
      {
        url: service.url,
        connections: clients,
        duration: durationS,
        timeout: 10,
        requests: [
          {
            method: 'GET',
            setupRequest: (request) => {
              sent += 1;
              if (sent % BAD_REQUEST_EVERY === 0) {
                badSent += 1;
                return { ...request, path: `/reports/${SYNTHETIC_ACCOUNT}/devices/12345` };
              }
              // Half first sights (until the fleet is exhausted), half re-reads of a device already seen.
              const reread = firstSights >= deviceCount || (firstSights > 0 && Math.random() < 0.5);
              const index = reread ? Math.floor(Math.random() * firstSights) : firstSights++;
              return { ...request, path: `/reports/${SYNTHETIC_ACCOUNT}/devices/${fleet.deviceIdAt(index)}` };
            },
          },
        ],
      },
      (statusCode, responseTime) => {
        latencies.push(responseTime);
        statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
      },
    );

    const samples: Array<{ atS: number; rss: number }> = [];
    const began = Date.now();
    let warmRss: number | undefined;
    const sampler = setInterval(() => {
      const atS = Math.round((Date.now() - began) / 1_000);
      const rss = rssMb(service.pid);
      if (rss === undefined) return;
      samples.push({ atS, rss });
      if (warmRss === undefined && atS >= warmupS) {
        warmRss = rss;
        log(`soak: RSS after warm-up (${atS} s) ${mb(rss)}`);
      }
      if (atS % 60 < SAMPLE_EVERY_MS / 1_000) log(`soak: ${atS} s: RSS ${mb(rss)}, ${latencies.length} answers`);
    }, SAMPLE_EVERY_MS);

    const result = await load;
    clearInterval(sampler);
    const endRss = rssMb(service.pid);

    const afterWarmup = samples.filter((sample) => sample.atS >= warmupS).map((sample) => sample.rss);
    const peakAfterWarmup = afterWarmup.length > 0 ? Math.max(...afterWarmup) : undefined;
    const ok = statuses.get(200) ?? 0;
    const answered400 = statuses.get(400) ?? 0;
    const otherStatuses = [...statuses].filter(([status]) => status !== 200 && status !== 400);
    // autocannon's errors include its timeouts. A good request answered 400 is an error too (a bad one
    // still in flight when the load stops is not).
    const errors =
      result.errors + otherStatuses.reduce((sum, [, count]) => sum + count, 0) + Math.max(0, answered400 - badSent);

    log('');
    log(`soak: done after ${round(result.duration, 1)} s`);
    log(
      `  requests     ${result.requests.total} (${round(result.requests.total / result.duration, 1)}/s): ${ok} x 200, ${answered400} x 400 for ${badSent} bad requests sent, ${firstSights} first sights`,
    );
    log(`  latency      p50 ${round(percentile(latencies, 50))} ms, p99 ${round(percentile(latencies, 99))} ms`);
    log(
      `  errors       ${errors} (connection errors and timeouts ${result.errors}, of them timeouts ${result.timeouts}, other statuses ${otherStatuses.map(([status, count]) => `${count} x ${status}`).join(', ') || 'none'})`,
    );
    log(
      `  RSS          start ${mb(startRss)}, after warm-up ${mb(warmRss)}, end ${mb(endRss)}, peak after warm-up ${mb(peakAfterWarmup)}`,
    );
    if (warmRss !== undefined && endRss !== undefined) {
      const minutes = Math.max((durationS - warmupS) / 60, 1 / 60);
      log(
        `  growth       ${round(endRss - warmRss, 1)} MB after warm-up (${round((endRss - warmRss) / minutes, 1)} MB/min)`,
      );
    }
    log(`  machine      load average at the end ${loadAverage()}`);
    log(
      `  bound        ${peakAfterWarmup !== undefined && peakAfterWarmup < limitMb ? 'held' : 'BROKEN'}: under ${limitMb} MB RSS after warm-up`,
    );
    await service.stop();
    await simulator.stop();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const hardBound = setTimeout(() => {
  process.stderr.write(`soak: still running after ${HARD_BOUND_MS / 1_000} s; stopping everything\n`);
  killAllStartedChildren();
  process.exit(1);
}, HARD_BOUND_MS);
hardBound.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllStartedChildren();
    process.exit(130);
  });
}

try {
  await soak();
} catch (error) {
  process.stderr.write(`soak: failed: ${(error as Error).message}\n`);
  await stopAllStartedChildren();
  process.exitCode = 1;
}
