import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type autocannon from 'autocannon';
import { DEMO_ACCOUNT, DEMO_CREDENTIALS, DEMO_DEVICE_WITH_FAILURE } from '../local/thingspace-simulator';
import { SyntheticFleet } from '../local/thingspace-simulator/synthetic-fleet';
import { peakRssMb } from './lib/children';
import { SYNTHETIC_ACCOUNT, startDynaliteProcess, startServiceProcess, startSimulatorProcess } from './lib/environment';
import { runLoad } from './lib/load';
import { percentile, round } from './lib/stats';
import { fotaHeaders } from './lib/thingspace-tokens';

export interface WarmOverheadResult {
  simulatorLatencyMs: number;
  requestsPerSide: number;
  device: string;
  /** npm start as it is by default: embedded dynalite in the server's own process. */
  service: { p50Ms: number; p95Ms: number };
  direct: { p50Ms: number; p95Ms: number };
  ratioP50: number;
  ratioP95: number;
  overheadP50Ms: number;
  /** npm start with DYNAMODB_ENDPOINT: the store in its own process, as DynamoDB is in AWS. */
  serviceExternalStore: { p50Ms: number; p95Ms: number; ratioP50: number; ratioP95: number; overheadP50Ms: number };
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
}

export interface HttpServiceResults {
  warm: WarmOverheadResult;
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

/**
 * Sections 1 and 2: the npm start server (its own process, embedded dynalite inside it) in front of
 * the simulator (its own process, answering FOTA calls after 50 ms).
 */
export async function measureHttpService(log: (line: string) => void): Promise<HttpServiceResults> {
  const simulator = await startSimulatorProcess({
    latencyMs: SIMULATOR_LATENCY_MS,
    syntheticFleetSize: CONCURRENCY_DEVICES,
  });
  const dataDir = mkdtempSync(path.join(tmpdir(), 'fota-bench-data-'));
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
        try {
          warm = await measureWarmOverhead(service.url, serviceExternalStore.url, simulator.url, log);
        } finally {
          await serviceExternalStore.stop();
        }
      } finally {
        await store.stop();
      }
      const concurrency = await measureConcurrency(service.url, service.pid, log);
      return { warm, concurrency };
    } finally {
      await service.stop();
    }
  } finally {
    await simulator.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function measureWarmOverhead(
  serviceUrl: string,
  externalStoreServiceUrl: string,
  simulatorUrl: string,
  log: (line: string) => void,
): Promise<WarmOverheadResult> {
  const headers = await fotaHeaders(simulatorUrl, DEMO_CREDENTIALS);
  const servicePath = `/reports/${DEMO_ACCOUNT}/devices/${DEMO_DEVICE_WITH_FAILURE}`;
  const side = {
    service: { url: `${serviceUrl}${servicePath}` },
    external: { url: `${externalStoreServiceUrl}${servicePath}` },
    direct: { url: `${simulatorUrl}/api/fota/v1${servicePath}`, headers },
  };
  const names = ['service', 'external', 'direct'] as const;
  // Warm-up (discarded): JIT, the service's token and session, its first sight of the device.
  for (const name of names) await sequential({ ...side[name], amount: WARM_UP_REQUESTS });

  const samples = { service: [] as number[], external: [] as number[], direct: [] as number[] };
  for (let round = 0; samples.service.length < WARM_REQUESTS_PER_SIDE; round += 1) {
    // Rotate which side goes first, so drift on the machine hits every side alike.
    for (let index = 0; index < names.length; index += 1) {
      const name = names[(index + round) % names.length]!;
      samples[name].push(...(await sequential({ ...side[name], amount: WARM_ROUND })));
    }
  }
  const { service, external, direct } = samples;
  const result = {
    simulatorLatencyMs: SIMULATOR_LATENCY_MS,
    requestsPerSide: service.length,
    device: `${DEMO_ACCOUNT}/${DEMO_DEVICE_WITH_FAILURE} (3 upgrades, archived, unchanged)`,
    service: { p50Ms: round(percentile(service, 50)), p95Ms: round(percentile(service, 95)) },
    direct: { p50Ms: round(percentile(direct, 50)), p95Ms: round(percentile(direct, 95)) },
    ratioP50: round(percentile(service, 50) / percentile(direct, 50), 3),
    ratioP95: round(percentile(service, 95) / percentile(direct, 95), 3),
    overheadP50Ms: round(percentile(service, 50) - percentile(direct, 50)),
    serviceExternalStore: {
      p50Ms: round(percentile(external, 50)),
      p95Ms: round(percentile(external, 95)),
      ratioP50: round(percentile(external, 50) / percentile(direct, 50), 3),
      ratioP95: round(percentile(external, 95) / percentile(direct, 95), 3),
      overheadP50Ms: round(percentile(external, 50) - percentile(direct, 50)),
    },
  };
  log(
    `warm: service p50 ${result.service.p50Ms} ms (store in its own process: ${result.serviceExternalStore.p50Ms} ms), direct p50 ${result.direct.p50Ms} ms, ratio ${result.ratioP50}`,
  );
  return result;
}

async function measureConcurrency(
  serviceUrl: string,
  pid: number,
  log: (line: string) => void,
): Promise<ConcurrencyResult> {
  const fleet = new SyntheticFleet(SYNTHETIC_ACCOUNT, { size: CONCURRENCY_DEVICES, recordsPerDevice: 3 });
  let next = 0;
  const latencies: number[] = [];
  const result = await runLoad(
    {
      url: serviceUrl,
      connections: CONCURRENT_CONNECTIONS,
      duration: CONCURRENCY_SECONDS,
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
  const concurrency = {
    connections: CONCURRENT_CONNECTIONS,
    durationS: CONCURRENCY_SECONDS,
    devices: CONCURRENCY_DEVICES,
    requestsPerSecond: round(result.requests.total / result.duration, 1),
    p50Ms: round(percentile(latencies, 50)),
    p95Ms: round(percentile(latencies, 95)),
    p99Ms: round(percentile(latencies, 99)),
    requests: result.requests.total,
    errors: result.errors + result.timeouts + result.non2xx,
    peakRssMb: (() => {
      const rss = peakRssMb(pid);
      return rss === undefined ? undefined : round(rss, 1);
    })(),
  };
  log(`concurrency: ${concurrency.requestsPerSecond} req/s, p95 ${concurrency.p95Ms} ms, errors ${concurrency.errors}`);
  return concurrency;
}
