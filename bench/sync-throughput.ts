/**
 * Devices per second of a local fleet pass: `npx tsx bench/sync-throughput.ts [--concurrency N]`.
 * Starts the ThingSpace simulator with a synthetic fleet (SYNC_DEVICES, default 10,000; SYNC_LATENCY_MS,
 * default 50 ms on every FOTA answer) and runs exactly the pass `npm run sync` runs (local/sync-pass.ts)
 * against the store `npm run sync` uses by default (embedded dynalite on disk, in a temporary DATA_DIR).
 * Prints one JSON line: {"devices", "seconds", "devicesPerSecond", ...}.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseLocalConfig } from '../functions/commons/configuration';
import { buildHistoryDependencies } from '../functions/commons/history-dependencies';
import { prepareLocalEnvironment } from '../local/local-environment';
import { useLocalPowertools } from '../local/local-logging';
import { DEFAULT_SYNC_CONCURRENCY, runSyncPass } from '../local/sync-pass';
import { DEMO_CREDENTIALS, startThingSpaceSimulator } from '../local/thingspace-simulator';

const ACCOUNT = '0000000001-00001';

function positiveInteger(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new Error(`${name} must be a non-negative whole number`);
  return number;
}

const { values } = parseArgs({ options: { concurrency: { type: 'string' } } });
const devices = positiveInteger(process.env.SYNC_DEVICES, 10_000, 'SYNC_DEVICES');
const latencyMs = positiveInteger(process.env.SYNC_LATENCY_MS, 50, 'SYNC_LATENCY_MS');
const recordsPerDevice = positiveInteger(process.env.SYNC_RECORDS, 3, 'SYNC_RECORDS');
const concurrency = positiveInteger(values.concurrency, DEFAULT_SYNC_CONCURRENCY, '--concurrency');

const simulator = await startThingSpaceSimulator({ latencyMs, credentials: DEMO_CREDENTIALS });
simulator.addSyntheticFleet(ACCOUNT, { size: devices, recordsPerDevice });
const dataDir = await mkdtemp(join(tmpdir(), 'fota-sync-bench-'));
// The configuration `npm run sync` gets when pointed at a ThingSpace: the same preparation, the same store.
const config = parseLocalConfig({
  ...process.env,
  DYNAMODB_ENDPOINT: undefined,
  TABLE_NAME: undefined,
  THINGSPACE_BASE_URL: simulator.url,
  THINGSPACE_CREDENTIALS: JSON.stringify(DEMO_CREDENTIALS),
  DATA_DIR: dataDir,
  POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'ERROR',
});
useLocalPowertools(config.logLevel);
const environment = await prepareLocalEnvironment(config);
let exitCode = 0;
try {
  const dependencies = buildHistoryDependencies(environment.service, { credentials: environment.credentials });
  const result = await runSyncPass(ACCOUNT, dependencies, { concurrency });
  const stats = simulator.stats();
  if (result.failedCount > 0 || result.synced !== devices) exitCode = 1;
  process.stdout.write(
    `${JSON.stringify({
      devices: result.synced,
      seconds: Number(result.seconds.toFixed(2)),
      devicesPerSecond: Number((result.synced / result.seconds).toFixed(1)),
      concurrency,
      simulatorLatencyMs: latencyMs,
      recordsPerDevice,
      failed: result.failedCount,
      historyCalls: stats.historyCalls,
      listCalls: stats.listCalls,
    })}\n`,
  );
} finally {
  await environment.close();
  await simulator.close();
  await rm(dataDir, { recursive: true, force: true });
}
process.exit(exitCode);
