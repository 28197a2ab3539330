/**
 * `npm run sync -- --account ACCOUNT [--account ...] [--concurrency N]`: one full pass on one machine,
 * discovery and the sync of every device, through the same services the deployed workers run, against
 * the ThingSpace and store `npm start` would use (same environment variables).
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { parseAccount } from '../domain/device-key';
import type { DeviceKey } from '../domain/upgrade-record';
import { discoverFleet } from '../services/discover-fleet';
import { DeviceSyncError, syncDevice } from '../services/sync-device';
import { InProcessSyncPool } from './in-process-sync-pool';
import { LocalConfigurationError, prepareLocalEnvironment } from './local-environment';

export const DEFAULT_SYNC_CONCURRENCY = 8;
const DEVICE_TIMEOUT_MS = 60_000;

function fail(message: string): never {
  process.stderr.write(`sync: ${message}\n`);
  process.exit(2);
}

function options() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        account: { type: 'string', multiple: true },
        concurrency: { type: 'string' },
      },
    });
  } catch (error) {
    fail((error as Error).message);
  }
  const accounts = parsed.values.account ?? [];
  if (accounts.length === 0) fail('usage: npm run sync -- --account ACCOUNT [--account ACCOUNT ...] [--concurrency N]');
  for (const account of accounts) {
    try {
      parseAccount(account);
    } catch {
      fail(`"${account}" is not a ThingSpace account name (digits with an optional numeric suffix)`);
    }
  }
  const concurrency = Number(parsed.values.concurrency ?? DEFAULT_SYNC_CONCURRENCY);
  if (!Number.isInteger(concurrency) || concurrency < 1) fail('--concurrency must be a positive whole number');
  return { accounts, concurrency };
}

interface Progress {
  discovered(total: number): void;
  deviceDone(failures: number): void;
  stop(): void;
}

/** A bar on a terminal; plain lines (one per tenth of the pass) when the output is a file or a pipe. */
function progress(account: string): Progress {
  let done = 0;
  let total = 0;
  if (process.stderr.isTTY) {
    const bar = new SingleBar({
      format: `${account} [{bar}] {value}/{total} devices | {failures} failed | {duration_formatted}`,
      stream: process.stderr,
      hideCursor: true,
    });
    bar.start(0, 0, { failures: 0 });
    return {
      discovered: (devices) => bar.setTotal((total = devices)),
      deviceDone: (failures) => bar.update(++done, { failures }),
      stop: () => bar.stop(),
    };
  }
  let nextReport = 0;
  return {
    discovered: (devices) => {
      total = devices;
      process.stdout.write(`${account}: ${total} devices discovered so far\n`);
    },
    deviceDone: (failures) => {
      done += 1;
      if (done >= nextReport) {
        process.stdout.write(`${account}: ${done}/${total} devices synced, ${failures} failed\n`);
        nextReport = done + Math.max(1, Math.ceil(total / 10));
      }
    },
    stop: () => undefined,
  };
}

async function syncAccount(account: string, concurrency: number): Promise<{ synced: number; failed: Array<{ device: DeviceKey; errorCode: string }> }> {
  const { historyDependencies } = await import('../functions/commons/history-dependencies');
  const dependencies = historyDependencies();
  const failed: Array<{ device: DeviceKey; errorCode: string }> = [];
  let synced = 0;
  const bar = progress(account);
  const pool = new InProcessSyncPool(async (device) => {
    try {
      await syncDevice(device, dependencies, { deadline: Date.now() + DEVICE_TIMEOUT_MS });
      synced += 1;
    } catch (error) {
      failed.push({ device, errorCode: error instanceof DeviceSyncError ? error.errorCode : (error as Error).name });
    }
    bar.deviceDone(failed.length);
  }, concurrency);

  let discoveryError: unknown;
  try {
    const outcome = await discoverFleet(
      account,
      { thingspace: dependencies.thingspace, store: dependencies.store, syncQueue: pool },
      {
        runId: randomUUID(),
        // This pass's queue lives in memory: a pass that died with it cannot be resumed, only replaced.
        replaceRunning: true,
        onPage: (checkpoint) => bar.discovered(checkpoint.devicesEnqueued),
      },
    );
    if (outcome.state !== 'done') discoveryError = new Error(`discovery ${outcome.state}`);
  } catch (error) {
    discoveryError = error;
  }
  await pool.drain();
  bar.stop();
  if (discoveryError) {
    failed.push({ device: { account, deviceId: '(device list)' }, errorCode: (discoveryError as Error).message });
  }
  return { synced, failed };
}

async function main(): Promise<void> {
  const { accounts, concurrency } = options();
  let environment;
  try {
    environment = await prepareLocalEnvironment();
  } catch (error) {
    fail(error instanceof LocalConfigurationError ? error.message : `start-up failed: ${(error as Error).message}`);
  }
  process.stdout.write(`ThingSpace: ${environment.thingspace.description}\nstore:      ${environment.store.description}\n`);

  let failures = 0;
  try {
    for (const account of accounts) {
      const started = Date.now();
      const { synced, failed } = await syncAccount(account, concurrency);
      const seconds = (Date.now() - started) / 1000;
      process.stdout.write(
        `${account}: ${synced} devices synced, ${failed.length} failed in ${seconds.toFixed(1)} s (${(synced / Math.max(seconds, 0.001)).toFixed(1)} devices/s)\n`,
      );
      for (const { device, errorCode } of failed) process.stdout.write(`  failed: ${device.deviceId} ${errorCode}\n`);
      failures += failed.length;
    }
  } finally {
    await environment.close();
  }
  process.exit(failures > 0 ? 1 : 0);
}

await main();
