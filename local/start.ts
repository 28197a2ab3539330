/**
 * `npm start`: the deployed API on one machine. The same Lambda handler (functions/get-history-api.ts)
 * behind an HTTP server that speaks API Gateway's proxy events, an embedded DynamoDB on disk, and the
 * built-in ThingSpace simulator unless THINGSPACE_BASE_URL names a real one.
 */
import { startLocalApiServer, type LocalApiServer } from './api-gateway-server';
import { LocalConfigurationError, prepareLocalEnvironment, type LocalEnvironment } from './local-environment';
import { DEMO_ACCOUNT, DEMO_DEVICE_WITH_FAILURE } from './thingspace-simulator';

function fail(message: string): never {
  process.stderr.write(`thingspace-fota-history: ${message}\n`);
  process.exit(1);
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return 3000;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`PORT must be a port number, not "${value}"`);
  return port;
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
    server = await startLocalApiServer({ handler, port, host: process.env.HOST || '127.0.0.1' });
  } catch (error) {
    await environment.close();
    const code = (error as NodeJS.ErrnoException).code;
    fail(code === 'EADDRINUSE' ? `port ${port} is already in use (set PORT)` : `start-up failed: ${(error as Error).message}`);
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
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: finishing requests in flight, then stopping\n`);
    // Requests in flight finish (and their archive writes land) before the store is flushed and closed.
    await server.close();
    await environment.close();
    process.exit(0);
  };
  process.on('SIGINT', (signal) => void stop(signal));
  process.on('SIGTERM', (signal) => void stop(signal));
}

await main();
