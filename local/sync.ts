/**
 * `npm run sync -- --account ACCOUNT [--account ...] [--concurrency N]`: one full pass on one machine,
 * discovery and the sync of every device, through the same services the deployed workers run, against
 * the ThingSpace and store `npm start` would use (same environment variables).
 */
import { createWriteStream } from 'node:fs';
import { join, relative } from 'node:path';
import cliProgress from 'cli-progress';
import { parseAccount } from '../domain/device-key';
import { ConfigurationError, type LocalConfig, parseLocalConfig } from '../functions/commons/configuration';
import { buildHistoryDependencies } from '../functions/commons/history-dependencies';
import { logger } from '../functions/commons/powertools';
import { attachLocalChangeFeed, type LocalChangeFeed } from './change-feed';
import { fail as failCommand, readCommandLine } from './command-line';
import { type LocalEnvironment, prepareLocalEnvironment } from './local-environment';
import { hideSdkNodeVersionWarning, routeLoggerTo, useLocalPowertools } from './local-logging';
import { DEFAULT_SYNC_CONCURRENCY, runSyncPass, type SyncPassOptions } from './sync-pass';
import { formatSummary } from './sync-summary';

const USAGE = `usage: npm run sync -- --account ACCOUNT [--account ACCOUNT ...] [--concurrency N] [--full]

Lists every device of each account on ThingSpace and archives its upgrade history, with the same code
the deployed fleet sync runs. Exits 0 when every device synced, 1 when a device or an account's device
list failed, 2 on a usage or configuration error, 130 when interrupted (Ctrl-C).

options:
  --account ACCOUNT   a ThingSpace account name, e.g. 0242078689-00001 (repeatable)
  --concurrency N     devices synced at once (default ${DEFAULT_SYNC_CONCURRENCY})
  --full              ask ThingSpace for every device's history, not only the devices that can have changed
  -h, --help          this text

environment (the same as npm start):
  FULL_RESYNC_DAYS          a device is asked again after this many days whatever else (1-30, default 7)
  THINGSPACE_BASE_URL       the ThingSpace to call; unset: the built-in simulator with demo devices
  THINGSPACE_CREDENTIALS    JSON {"appKey","appSecret","username","password"}; default: the simulator's demo credentials
  THINGSPACE_SECRET_ID      read the credentials from this Secrets Manager secret instead
  DATA_DIR                  the embedded store's directory (default ./.data; one process at a time)
  DYNAMODB_ENDPOINT, TABLE_NAME   use this DynamoDB instead of the embedded store
  THINGSPACE_TIMEOUT_MS, THINGSPACE_MAX_ATTEMPTS, THINGSPACE_RETRY_BASE_MS   ThingSpace call tuning
  POWERTOOLS_LOG_LEVEL      level of the sync's logs (default WARN); on a terminal they go to DATA_DIR/sync.log
`;

/** Plain-line mode (output not a terminal): a line at most this often, and at least every tenth of the pass. */
const PLAIN_LINE_EVERY_MS = 5_000;
const EXIT_INTERRUPTED = 130;
const SECOND_INTERRUPT_AFTER_MS = 1_000;

function fail(message: string): never {
  return failCommand('sync', message);
}

function options() {
  const parsed = readCommandLine('sync', USAGE, {
    account: { type: 'string', multiple: true },
    concurrency: { type: 'string' },
    full: { type: 'boolean' },
  });
  const accounts = parsed.values.account ?? [];
  if (accounts.length === 0) fail('no --account given (npm run sync -- --help)');
  for (const account of accounts) {
    try {
      parseAccount(account);
    } catch {
      fail(`"${account}" is not a ThingSpace account name (digits with an optional numeric suffix)`);
    }
  }
  const concurrency = Number(parsed.values.concurrency ?? DEFAULT_SYNC_CONCURRENCY);
  if (!Number.isInteger(concurrency) || concurrency < 1) fail('--concurrency must be a positive whole number');
  return { accounts, concurrency, full: parsed.values.full === true };
}

type Progress = Required<Pick<SyncPassOptions, 'onDiscovered' | 'onDeviceDone' | 'onListingDone'>> & { stop(): void };

/**
 * On a terminal, a cli-progress bar on stderr: while the device list is still being read its total is
 * unknown, so it shows how many devices are listed so far; once the list has ended, a real bar.
 */
function terminalProgress(account: string): Progress {
  const state = { listed: 0, done: 0, failures: 0, listing: true };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      // Redraws at least this often, so the elapsed time moves while ThingSpace is slow.
      fps: 10,
      format: (options, params, payload) =>
        cliProgress.Format.Formatter(
          {
            ...options,
            format: state.listing
              ? `${account} listing devices... {listed} listed so far, {value} done | {failures} failed | {duration_formatted}`
              : `${account} [{bar}] {value}/{total} devices | {failures} failed | {duration_formatted}`,
          },
          params,
          payload,
        ),
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(1, 0, { failures: 0, listed: 0 });
  return {
    onDiscovered: (devices) => {
      state.listed = devices;
      bar.setTotal(Math.max(devices, state.done, 1));
      bar.update({ listed: devices });
    },
    onListingDone: (devices) => {
      state.listing = false;
      state.listed = devices;
      bar.setTotal(devices);
      bar.update(state.done, { listed: devices });
    },
    onDeviceDone: (failures) => bar.update(++state.done, { failures }),
    stop: () => bar.stop(),
  };
}

/** Not a terminal (a file, a pipe, CI): a plain line every PLAIN_LINE_EVERY_MS or every tenth of the list. */
function plainProgress(account: string): Progress {
  const state = { listed: 0, done: 0, failures: 0, listing: true, lastLine: Date.now(), nextCount: 1 };
  const line = () => {
    process.stdout.write(
      state.listing
        ? `${account}: ${state.done} devices done, ${state.listed} listed so far, ${state.failures} failed\n`
        : `${account}: ${state.done}/${state.listed} devices done, ${state.failures} failed\n`,
    );
    state.lastLine = Date.now();
    state.nextCount = state.done + Math.max(1, Math.ceil(state.listed / 10));
  };
  return {
    onDiscovered: (devices) => {
      state.listed = devices;
    },
    onListingDone: (devices) => {
      state.listing = false;
      state.listed = devices;
      process.stdout.write(`${account}: device list complete, ${devices} devices\n`);
    },
    onDeviceDone: (failures) => {
      state.done += 1;
      state.failures = failures;
      if (state.done >= state.nextCount || Date.now() - state.lastLine >= PLAIN_LINE_EVERY_MS) line();
    },
    stop: () => undefined,
  };
}

async function main(): Promise<void> {
  const { accounts, concurrency, full } = options();
  const onTerminal = process.stderr.isTTY === true;
  hideSdkNodeVersionWarning();
  let config: LocalConfig;
  let environment: LocalEnvironment;
  try {
    config = parseLocalConfig(process.env);
    // Before the dependencies are built: they take the Powertools instances current then.
    useLocalPowertools(config.logLevel);
    environment = await prepareLocalEnvironment(config);
  } catch (error) {
    fail(error instanceof ConfigurationError ? error.message : `start-up failed: ${(error as Error).message}`);
  }
  process.stdout.write(
    `ThingSpace: ${environment.thingspace.description}\nstore:      ${environment.store.description}\n`,
  );

  let changeFeed: LocalChangeFeed | undefined;
  let logFile: string | undefined;
  let linesLogged = 0;
  if (onTerminal) {
    // Log lines written while the bar redraws would tear both: on a terminal they go to a file.
    logFile = join(environment.store.dataDir ?? process.cwd(), 'sync.log');
    const file = createWriteStream(logFile, { flags: 'a' });
    const counting = new (await import('node:stream')).PassThrough();
    counting.on('data', (chunk: Buffer) => {
      linesLogged += chunk.toString().split('\n').length - 1;
    });
    counting.pipe(file);
    routeLoggerTo(logger, counting);
  }

  const interrupt = new AbortController();
  let current: Progress | undefined;
  let interruptedAt = 0;
  process.on('SIGINT', () => {
    if (interrupt.signal.aborted) {
      // npm forwards the terminal's SIGINT, so one Ctrl-C arrives twice: only a later one is a second Ctrl-C,
      // which stops now, without waiting for the devices in flight.
      if (Date.now() - interruptedAt < SECOND_INTERRUPT_AFTER_MS) return;
      current?.stop();
      process.exit(EXIT_INTERRUPTED);
    }
    interruptedAt = Date.now();
    interrupt.abort();
  });

  let failed = false;
  try {
    const dependencies = buildHistoryDependencies(environment.service, { credentials: environment.credentials });
    // The pass's archive writes append their change events to DATA_DIR/events.jsonl, as npm start's do.
    changeFeed = attachLocalChangeFeed(dependencies, { dataDir: config.dataDir, webhookUrl: config.eventsWebhookUrl });
    for (const account of accounts) {
      if (interrupt.signal.aborted) break;
      current = onTerminal ? terminalProgress(account) : plainProgress(account);
      const result = await runSyncPass(account, dependencies, {
        concurrency,
        full,
        fullResyncDays: environment.service.fullResyncDays,
        signal: interrupt.signal,
        ...current,
      });
      current.stop();
      current = undefined;
      process.stdout.write(formatSummary(result));
      if (result.failedCount > 0 || result.listingError) failed = true;
    }
  } finally {
    await changeFeed?.close();
    // Releases DATA_DIR (its pid file) and flushes the store, interrupted or not.
    await environment.close();
  }
  if (logFile && linesLogged > 0) {
    const shown = relative(process.cwd(), logFile);
    process.stdout.write(
      `${linesLogged} log line${linesLogged === 1 ? '' : 's'} written to ${shown.startsWith('..') ? logFile : shown}\n`,
    );
  }
  // Where stdout is an asynchronous pipe (macOS), exit() would drop the summary still being written.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(interrupt.signal.aborted ? EXIT_INTERRUPTED : failed ? 1 : 0);
}

await main();
