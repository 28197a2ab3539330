/**
 * `npm start`: the deployed API on one machine. The same Lambda handler (functions/get-history-api.ts)
 * behind an HTTP server that speaks API Gateway's proxy events, an embedded DynamoDB on disk, and the
 * built-in ThingSpace simulator unless THINGSPACE_BASE_URL names a real one.
 */
import { isAbsolute, relative } from 'node:path';
import { buildArchiveDependencies } from '../functions/commons/archive-dependencies';
import { callbackCredentials } from '../functions/commons/callback-dependencies';
import { ConfigurationError, type LocalConfig, parseLocalConfig } from '../functions/commons/configuration';
import { buildHistoryDependencies } from '../functions/commons/history-dependencies';
import { makeHandler as makeArchiveHandler } from '../functions/get-archive-api';
import { makeHandler as makeHistoryHandler } from '../functions/get-history-api';
import { makeHandler as makeCallbackHandler } from '../functions/thingspace-callback';
import { accessLogger } from './access-log';
import { type LocalApiServer, type ProxyHandler, startLocalApiServer } from './api-gateway-server';
import {
  callbackListenerLine,
  type LocalCallbackSyncs,
  localCallbackConfig,
  localCallbackSyncs,
} from './callback-listener';
import { attachLocalChangeFeed, type LocalChangeFeed } from './change-feed';
import { healthCheck } from './health';
import { type LocalEnvironment, prepareLocalEnvironment } from './local-environment';
import { hideSdkNodeVersionWarning, logFormatFor, useLocalPowertools } from './local-logging';
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
  hideSdkNodeVersionWarning();
  let config: LocalConfig;
  try {
    config = parseLocalConfig(process.env);
  } catch (error) {
    fail((error as Error).message);
  }
  const { port } = config;
  const format = logFormatFor(config.logFormat, process.stdout.isTTY === true);
  const usesSimulator = !config.thingspaceBaseUrl;
  // Before any handler or dependency is built: they take the Powertools instances current then.
  useLocalPowertools(config.logLevel);

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
      host: config.host,
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
    environment = await prepareLocalEnvironment(config);
  } catch (error) {
    fail(error instanceof ConfigurationError ? error.message : `start-up failed: ${(error as Error).message}`);
  }

  let changeFeed: LocalChangeFeed | undefined;
  let callbackSyncs: LocalCallbackSyncs | undefined;
  let callbacksLine = '';
  try {
    // The composition root: one set of dependencies, built before the first request, shared by the
    // history route and the callbacks' syncs as one Lambda execution environment would share them.
    const history = buildHistoryDependencies(environment.service, { credentials: environment.credentials });
    // Every archive write from here on appends its change event to DATA_DIR/events.jsonl.
    changeFeed = attachLocalChangeFeed(history, { dataDir: config.dataDir, webhookUrl: config.eventsWebhookUrl });
    // POST /callbacks/thingspace: callbacks' devices are synced in this process (no SQS on one machine).
    const callbackConfig = localCallbackConfig(environment.service, usesSimulator);
    callbackSyncs = localCallbackSyncs(history);
    const callbacks = { credentials: callbackCredentials(callbackConfig), syncQueue: callbackSyncs.pool };
    callbacksLine = await callbackListenerLine(server.url, callbacks.credentials);
    // GET /archive/...: reads the archive only, so it is built without ThingSpace.
    const archive = buildArchiveDependencies(environment.service);
    handlerReady(makeHistoryHandler(() => history));
    archiveHandlerReady(makeArchiveHandler(() => archive));
    callbackHandlerReady(makeCallbackHandler(() => callbacks));
  } catch (error) {
    await changeFeed?.close();
    await environment.close();
    fail(error instanceof ConfigurationError ? error.message : `start-up failed: ${(error as Error).message}`);
  }

  process.stdout.write(
    [
      `thingspace-fota-history listening on ${server.url}`,
      `  ThingSpace: ${environment.thingspace.description}`,
      `  store:      ${environment.store.description}`,
      `  events:     ${shownPath(changeFeed.path)}`,
      `  callbacks:  ${callbacksLine}`,
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
