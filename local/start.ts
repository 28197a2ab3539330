/**
 * `npm start`: the deployed API on one machine. The same Lambda handler (functions/get-history-api.ts)
 * behind an HTTP server that speaks API Gateway's proxy events, an embedded DynamoDB on disk, and the
 * built-in ThingSpace simulator unless THINGSPACE_BASE_URL names a real one.
 */
import { startLocalApiServer, type LocalApiServer } from './api-gateway-server';
import { readOpenApiDocument } from './openapi-document';
import { LocalConfigurationError, prepareLocalEnvironment, type LocalEnvironment } from './local-environment';
import { DEMO_ACCOUNT, DEMO_DEVICE_WITH_FAILURE } from './thingspace-simulator';

/** How often the process checks that whatever launched it (npm) is still there. */
const LAUNCHER_CHECK_MS = 500;

function fail(message: string): never {
  process.stderr.write(`thingspace-fota-history: ${message}\n`);
  process.exit(1);
}

// A reader that went away (a closed pipe) must not turn a clean stop into a crash.
process.stdout.on('error', () => undefined);
// Whatever escapes (a store that breaks underneath, a bug) ends the process with one line, not a stack.
process.on('uncaughtException', (error) => fail(`stopped on an unexpected error: ${error.message}`));
process.on('unhandledRejection', (reason) => fail(`stopped on an unexpected error: ${(reason as Error)?.message ?? String(reason)}`));

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
  const usesSimulator = !process.env.THINGSPACE_BASE_URL;

  let environment: LocalEnvironment;
  try {
    environment = await prepareLocalEnvironment();
  } catch (error) {
    fail(error instanceof LocalConfigurationError ? error.message : `start-up failed: ${(error as Error).message}`);
  }

  let server: LocalApiServer;
  try {
    // Imported only now: the handler reads its configuration from the environment prepared above.
    const { handler } = await import('../functions/get-history-api');
    const { historyDependencies } = await import('../functions/commons/history-dependencies');
    // Built now rather than on the first request, so a bad setting (e.g. THINGSPACE_TIMEOUT_MS=abc)
    // stops start-up instead of failing every request; the handler then reuses these.
    historyDependencies();
    const { handler: archiveHandler } = await import('../functions/get-archive-api');
    const { archiveDependencies } = await import('../functions/commons/archive-dependencies');
    archiveDependencies();
    server = await startLocalApiServer({
      handler,
      archiveHandler,
      openApiDocument: await readOpenApiDocument(),
      port,
      host: process.env.HOST || '127.0.0.1',
    });
  } catch (error) {
    await environment.close();
    const code = (error as NodeJS.ErrnoException).code;
    const name = (error as Error).name;
    fail(
      code === 'EADDRINUSE'
        ? `port ${port} is already in use (set PORT)`
        : name === 'ConfigurationError'
          ? (error as Error).message
          : `start-up failed: ${(error as Error).message}`,
    );
  }

  process.stdout.write(
    [
      `thingspace-fota-history listening on ${server.url}`,
      `  ThingSpace: ${environment.thingspace.description}`,
      `  store:      ${environment.store.description}`,
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
