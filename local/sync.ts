/**
 * `npm run sync -- --account ACCOUNT [--account ...] [--concurrency N]`: one full pass on one machine,
 * discovery and the sync of every device, through the same services the deployed workers run, against
 * the ThingSpace and store `npm start` would use (same environment variables).
 */
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { parseAccount } from '../domain/device-key';
import { attachLocalChangeFeed, type LocalChangeFeed } from './change-feed';
import { LocalConfigurationError, prepareLocalEnvironment } from './local-environment';
import { DEFAULT_SYNC_CONCURRENCY, runSyncPass, type SyncPassOptions } from './sync-pass';

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

type Progress = Required<Pick<SyncPassOptions, 'onDiscovered' | 'onDeviceDone'>> & { stop(): void };

/** A bar on a terminal; plain lines (about one per tenth of the pass) when the output is a file or a pipe. */
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
      onDiscovered: (devices) => bar.setTotal((total = devices)),
      onDeviceDone: (failures) => bar.update(++done, { failures }),
      stop: () => bar.stop(),
    };
  }
  let nextReport = 0;
  return {
    onDiscovered: (devices) => {
      total = devices;
    },
    onDeviceDone: (failures) => {
      done += 1;
      if (done >= nextReport) {
        process.stdout.write(`${account}: ${done}/${total} devices done, ${failures} failed\n`);
        nextReport = done + Math.max(1, Math.ceil(total / 10));
      }
    },
    stop: () => undefined,
  };
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
  let changeFeed: LocalChangeFeed | undefined;
  // Ctrl-C / SIGTERM: no new device starts, the devices in flight finish (their archive writes and
  // events land), then the feed and the store are closed. A second signal ends the process at once.
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(130);
    process.stdout.write(`${signal}: finishing the devices in flight, then stopping (again to stop at once)\n`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    // Imported only now: the dependencies read the environment prepared above.
    const { historyDependencies } = await import('../functions/commons/history-dependencies');
    const dependencies = historyDependencies();
    // The pass's archive writes append their change events to DATA_DIR/events.jsonl, as npm start's do.
    changeFeed = attachLocalChangeFeed(dependencies);
    for (const account of accounts) {
      const bar = progress(account);
      const result = await runSyncPass(account, dependencies, { concurrency, ...bar, signal: stop.signal });
      bar.stop();
      if (stop.signal.aborted) {
        process.stdout.write(`${account}: stopped after ${result.synced} devices synced, ${result.failed.length} failed\n`);
        break;
      }
      const rate = result.synced / Math.max(result.seconds, 0.001);
      process.stdout.write(
        `${account}: ${result.discovered} devices listed, ${result.synced} synced, ${result.failed.length} failed in ${result.seconds.toFixed(1)} s (${rate.toFixed(1)} devices/s)\n`,
      );
      for (const { device, errorCode } of result.failed) process.stdout.write(`  failed: ${device.deviceId} ${errorCode}\n`);
      failures += result.failed.length;
    }
  } finally {
    await changeFeed?.close();
    await environment.close();
  }
  // Where stdout is an asynchronous pipe (macOS), exit() would drop the summary still being written.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(stop.signal.aborted ? 130 : failures > 0 ? 1 : 0);
}

await main();
