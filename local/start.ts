/**
 * `npm start`: the deployed API on one machine. The same Lambda handler (functions/get-history-api.ts)
 * behind an HTTP server that speaks API Gateway's proxy events, an embedded DynamoDB on disk, and the
 * built-in ThingSpace simulator unless THINGSPACE_BASE_URL names a real one.
 */
import { isAbsolute, relative } from 'node:path';
import { accessLogger } from './access-log';
import { type LocalApiServer, type ProxyHandler, startLocalApiServer } from './api-gateway-server';
import { type LocalCallbackSyncs, localCallbackSyncs, useDemoCallbackCredentials } from './callback-listener';
import { attachLocalChangeFeed, type LocalChangeFeed } from './change-feed';
import { healthCheck } from './health';
import { LocalConfigurationError, type LocalEnvironment, prepareLocalEnvironment } from './local-environment';
import { logFormatFrom, useLocalLogFormat } from './local-logging';
import { readOpenApiDocument } from './openapi-document';
import { DEMO_ACCOUNT, DEMO_DEVICE_WITH_FAILURE } from './thingspace-simulator';

/** How often the process checks that whatever launched it (npm) is still there. */
const LAUNCHER_CHECK_MS = 500;

/** A path as a user would type it here: relative to the working directory when inside it. */
function shownPath(path: string): string {
  const shown = relative(process.cwd(), path);
  return shown.startsWith('..') || isAbsolute(shown) ? path : `./${shown}`;
}

function fail(message: string): never {
  process.stderr.write(`thingspace-fota-history: ${message}\n`);
  process.exit(1);
}

// A reader that went away (a closed pipe) must not turn a clean stop into a crash.
process.stdout.on('error', () => undefined);
// Whatever escapes (a store that breaks underneath, a bug) ends the process with one line, not a stack.
process.on('uncaughtException', (error) => fail(`stopped on an unexpected error: ${error.message}`));
process.on('unhandledRejection', (reason) =>
  fail(`stopped on an unexpected error: ${(reason as Error)?.message ?? String(reason)}`),
);

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return 3000;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`PORT must be a port number, not "${value}"`);
  return port;
}

/**
 * Calls `onOrphaned` when the process that launched this one (npm, which execs the server) dies
 * without passing a signal on, e.g. on SIGKILL: an orphaned server would hold the port and DATA_DIR
 * forever. An orphan is re-parented, so a changed parent process id is the sign.
 */
function watchLauncher(onOrphaned: () => void): void {
  const launcher = process.ppid;
  if (launcher <= 1) return;
  const timer = setInterval(() => {
    if (process.ppid !== launcher) {
      clearInterval(timer);
      onOrphaned();
    }
  }, LAUNCHER_CHECK_MS);
  timer.unref();
}

async function main(): Promise<void> {
  const port = parsePort(process.env.PORT);
  const format = logFormatFrom(process.env, process.stdout.isTTY === true);
  if (format !== 'text' && format !== 'json') fail(format);
  const usesSimulator = !process.env.THINGSPACE_BASE_URL;
  useLocalLogFormat();

  // The port first, before the simulator or the store start (or DATA_DIR is created): a port in use
  // is reported at once and leaves nothing behind. Requests wait for the handler until it is ready.
  let environment: LocalEnvironment | undefined;
  let handlerReady!: (handler: ProxyHandler) => void;
  const handler = new Promise<ProxyHandler>((resolve) => (handlerReady = resolve));
  let archiveHandlerReady!: (handler: ProxyHandler) => void;
  const archiveHandler = new Promise<ProxyHandler>((resolve) => (archiveHandlerReady = resolve));
  let callbackHandlerReady!: (handler: ProxyHandler) => void;
  const callbackHandler = new Promise<ProxyHandler>((resolve) => (callbackHandlerReady = resolve));
  let server: LocalApiServer;
  try {
    server = await startLocalApiServer({
      handler,
      callbackHandler,
      archiveHandler,
      openApiDocument: await readOpenApiDocument(),
      port,
      host: process.env.HOST || '127.0.0.1',
      health: healthCheck(() => environment),
      onAnswered: accessLogger(format),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    fail(
      code === 'EADDRINUSE'
        ? `port ${port} is already in use (set PORT)`
        : `cannot listen on port ${port}: ${(error as Error).message}`,
    );
  }

  try {
    environment = await prepareLocalEnvironment();
  } catch (error) {
    fail(error instanceof LocalConfigurationError ? error.message : `start-up failed: ${(error as Error).message}`);
  }

  let changeFeed: LocalChangeFeed | undefined;
  let callbackSyncs: LocalCallbackSyncs | undefined;
  try {
    // Imported only now: the handler reads its configuration from the environment prepared above.
    const { handler: lambdaHandler } = await import('../functions/get-history-api');
    const { historyDependencies } = await import('../functions/commons/history-dependencies');
    // Built now rather than on the first request, so a bad setting (e.g. THINGSPACE_TIMEOUT_MS=abc)
    // stops start-up instead of failing every request; the handler then reuses these.
    historyDependencies();
    // Every archive write from here on appends its change event to DATA_DIR/events.jsonl.
    changeFeed = attachLocalChangeFeed(historyDependencies());
    // POST /callbacks/thingspace: callbacks' devices are synced in this process (no SQS on one machine).
    useDemoCallbackCredentials(process.env, usesSimulator);
    const callbacks = await import('../functions/commons/callback-dependencies');
    callbackSyncs = localCallbackSyncs(historyDependencies());
    callbacks.useCallbackDependencies({
      credentials: callbacks.callbackCredentialsFromEnvironment(),
      syncQueue: callbackSyncs.pool,
    });
    const { handler: thingspaceCallbackHandler } = await import('../functions/thingspace-callback');
    // GET /archive/...: reads the archive only, so it is built without ThingSpace.
    const { handler: archiveLambdaHandler } = await import('../functions/get-archive-api');
    const { archiveDependencies } = await import('../functions/commons/archive-dependencies');
    archiveDependencies();
    handlerReady(lambdaHandler);
    archiveHandlerReady(archiveLambdaHandler);
    callbackHandlerReady(thingspaceCallbackHandler);
  } catch (error) {
    await changeFeed?.close();
    await environment.close();
    const name = (error as Error).name;
    fail(name === 'ConfigurationError' ? (error as Error).message : `start-up failed: ${(error as Error).message}`);
  }

  process.stdout.write(
    [
      `thingspace-fota-history listening on ${server.url}`,
      `  ThingSpace: ${environment.thingspace.description}`,
      `  store:      ${environment.store.description}`,
      `  events:     ${shownPath(changeFeed.path)}`,
      process.env.THINGSPACE_CALLBACK_CREDENTIALS || process.env.THINGSPACE_SECRET_ID
        ? `  callbacks:  POST ${server.url}/callbacks/thingspace`
        : '  callbacks:  off (set THINGSPACE_CALLBACK_CREDENTIALS to listen)',
      `  try:        curl ${server.url}/reports/${usesSimulator ? DEMO_ACCOUNT : '{account}'}/devices/${usesSimulator ? DEMO_DEVICE_WITH_FAILURE : '{deviceId}'}`,
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${reason}: finishing requests in flight, then stopping\n`);
    try {
      // Requests in flight finish (and their archive writes land) before the store is flushed and closed.
      await server.close();
      // Syncs that callbacks started finish, and their events are written, before the feed closes; those
      // not started yet are left to the next callback or fleet pass.
      const notStarted = await callbackSyncs.stop();
      if (notStarted > 0) process.stdout.write(`${notStarted} device syncs asked for by callbacks were not started\n`);
      await changeFeed.close();
      await environment.close();
    } catch (error) {
      fail(`could not stop cleanly: ${(error as Error).message}`);
    }
    process.stdout.write('thingspace-fota-history stopped\n');
    process.exit(0);
  };
  process.on('SIGINT', (signal) => void stop(signal));
  process.on('SIGTERM', (signal) => void stop(signal));
  process.on('SIGHUP', (signal) => void stop(signal));
  watchLauncher(() => void stop('launcher gone'));
}

await main();
