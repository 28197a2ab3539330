/**
 * `npm run callbacks -- register --account A --url URL | list --account A | delete --account A`:
 * ThingSpace's FOTA callback registration, through the same ThingSpace client (tokens, session, login
 * guard) as the service. Its login counts in the shared login guard of the store npm start uses
 * (local/shared-store.ts), so it can never be a fifth attempt. The username/password registered are the
 * listener's: THINGSPACE_CALLBACK_CREDENTIALS.
 */
import { createDocumentClient } from '../adapters/dynamodb/client';
import { DynamoDbLoginGuard } from '../adapters/dynamodb/dynamodb-login-guard';
import { createThingSpaceClient } from '../adapters/thingspace/client';
import { parseAccount } from '../domain/device-key';
import { callbackCredentials } from '../functions/commons/callback-dependencies';
import {
  ConfigurationError,
  ENV,
  type LocalConfig,
  parseLocalConfig,
  type ServiceConfig,
} from '../functions/commons/configuration';
import { thingSpaceCredentials } from '../functions/commons/history-dependencies';
import { DEMO_CALLBACK_CREDENTIALS } from './callback-listener';
import { fail as failCommand, readCommandLine } from './command-line';
import { hideSdkNodeVersionWarning } from './local-logging';
import { openLocalStore } from './shared-store';
import { DEMO_CREDENTIALS } from './thingspace-simulator';

const USAGE =
  'usage: npm run callbacks -- register --account ACCOUNT --url URL | list --account ACCOUNT | delete --account ACCOUNT\n' +
  '  THINGSPACE_BASE_URL names the ThingSpace (e.g. the simulator URL npm start prints); THINGSPACE_CREDENTIALS or\n' +
  '  THINGSPACE_SECRET_ID its credentials; THINGSPACE_CALLBACK_CREDENTIALS the {"username","password"} to register.';

function fail(message: string, code?: number): never {
  return failCommand('callbacks', message, code);
}

function isLoopback(url: string): boolean {
  try {
    return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const parsed = readCommandLine(
    'callbacks',
    USAGE,
    { account: { type: 'string' }, url: { type: 'string' } },
    { allowPositionals: true },
  );
  const [command] = parsed.positionals;
  if (command !== 'register' && command !== 'list' && command !== 'delete')
    fail(`expected register, list or delete (npm run callbacks -- --help)`);
  const account = parsed.values.account;
  try {
    parseAccount(account);
  } catch {
    fail(`--account must be a ThingSpace account name (digits with an optional numeric suffix)\n${USAGE}`);
  }
  hideSdkNodeVersionWarning();
  let config: LocalConfig;
  try {
    config = parseLocalConfig(process.env);
  } catch (error) {
    fail((error as Error).message);
  }
  const baseUrl = config.thingspaceBaseUrl;
  if (!baseUrl)
    fail(
      `${ENV.THINGSPACE_BASE_URL} is not set (with npm start's simulator: the URL on its "ThingSpace:" line)\n${USAGE}`,
    );
  let service: ServiceConfig = { ...config.service, thingspace: { ...config.service.thingspace, baseUrl } };
  // Against a simulator on this machine the demo credentials are the right ones, as in npm start.
  if (isLoopback(baseUrl) && !service.thingspace.credentials && !service.thingspace.secretId) {
    service = {
      ...service,
      thingspace: { ...service.thingspace, credentials: DEMO_CREDENTIALS },
      callbackCredentials: service.callbackCredentials ?? DEMO_CALLBACK_CREDENTIALS,
    };
  }

  // Checked before the store opens, so a usage error leaves nothing open behind.
  const url = parsed.values.url;
  let listener;
  if (command === 'register') {
    if (!url || !/^https?:\/\//.test(url)) fail(`register needs --url http(s)://.../callbacks/thingspace\n${USAGE}`);
    listener = await callbackCredentials(service)();
    if (!listener)
      fail(
        'no callback credentials: set THINGSPACE_CALLBACK_CREDENTIALS (or the secret fields callbackUsername/callbackPassword)',
      );
  }

  let store;
  try {
    store = await openLocalStore(config, { createTable: true });
  } catch (error) {
    fail(
      `cannot open the store that holds the login guard: ${error instanceof ConfigurationError ? error.message : (error as Error).message}`,
      1,
    );
  }
  const documents = createDocumentClient({ ...service.aws, ...(store.endpoint ? { endpoint: store.endpoint } : {}) });
  const client = createThingSpaceClient({
    baseUrl,
    credentials: thingSpaceCredentials(service.thingspace),
    loginGuard: new DynamoDbLoginGuard({ client: documents, tableName: store.tableName }),
  });

  try {
    if (command === 'register') {
      await client.registerCallback(account!, { url: url!, ...listener! });
      process.stdout.write(`registered Fota callback for ${account} -> ${shownUrl(url!)}\n`);
    } else if (command === 'list') {
      const callbacks = await client.listCallbacks(account!);
      if (callbacks.length === 0) process.stdout.write(`no callback registered for ${account}\n`);
      for (const callback of callbacks) process.stdout.write(`${callback.name} ${shownUrl(callback.url)}\n`);
    } else {
      await client.deleteCallback(account!);
      process.stdout.write(`deleted Fota callback of ${account}\n`);
    }
  } catch (error) {
    const details = (error as { details?: { errorCode?: string } }).details;
    process.exitCode = 1;
    process.stderr.write(
      `callbacks: ${(error as Error).message}${details?.errorCode ? ` (${details.errorCode})` : ''}\n`,
    );
  } finally {
    documents.destroy();
    await store.close();
  }
}

await main();

/** A URL as printed: a `user:password@` part (the callback credentials belong elsewhere) is masked. */
function shownUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password) return url;
    parsed.username = '***';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url;
  }
}
