/**
 * `npm run login-guard -- status|reset --user U`: what the ThingSpace login guard holds for an API user,
 * and the operator's reset. Runs against the store `npm start` would use: DYNAMODB_ENDPOINT + TABLE_NAME,
 * TABLE_NAME alone (a real AWS table, usual AWS credentials and region), or else the embedded store in
 * DATA_DIR (default ./.data): the running npm start's, or opened here (local/shared-store.ts).
 */

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createDocumentClient } from '../adapters/dynamodb/client';
import { DynamoDbLoginGuard } from '../adapters/dynamodb/dynamodb-login-guard';
import { type LoginGuardRecord, MAX_LOGIN_ATTEMPTS, userKey } from '../adapters/thingspace/login-guard';
import { ConfigurationError, parseLocalConfig } from '../functions/commons/configuration';
import { openLocalStore } from './shared-store';

const USAGE = 'usage: npm run login-guard -- <status|reset> --user <ThingSpace API username>';

export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  print: (line: string) => void = console.log,
): Promise<number> {
  let command: string | undefined;
  let user: string | undefined;
  try {
    const { positionals, values } = parseArgs({
      args: argv,
      options: { user: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
    if (values.help) {
      print(USAGE);
      return 0;
    }
    [command] = positionals;
    user = values.user;
    if (positionals.length !== 1 || (command !== 'status' && command !== 'reset') || !user)
      throw new Error('expected one command and --user');
  } catch (error) {
    print(`login-guard: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }

  const closers: Array<() => Promise<void>> = [];
  try {
    const config = parseLocalConfig(env);
    const store = await openLocalStore(config);
    closers.push(() => store.close());
    const { endpoint, tableName, where } = store;
    const client = createDocumentClient({ ...config.service.aws, ...(endpoint ? { endpoint } : {}), maxAttempts: 2 });
    closers.push(async () => client.destroy());
    const guard = new DynamoDbLoginGuard({ client, tableName });
    const key = userKey(user);
    if (command === 'status') {
      print(`login guard of ${user} (${where}): ${describe(await guard.read(key), Date.now())}`);
    } else {
      const was = await guard.reset(key);
      print(
        `login guard of ${user} (${where}): reset, was ${describe(was, Date.now())}; the next login will be tried ` +
          `(ThingSpace locks the user at 5 consecutive failures: check the password first)`,
      );
    }
    return 0;
  } catch (error) {
    const name = (error as Error).name;
    const message =
      error instanceof ConfigurationError
        ? error.message
        : name === 'ResourceNotFoundException'
          ? 'the table does not exist there (check TABLE_NAME, DYNAMODB_ENDPOINT or DATA_DIR)'
          : `${name}: ${(error as Error).message}`;
    print(`login-guard: ${message}`);
    return 1;
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  }
}

function describe(record: LoginGuardRecord | undefined, now: number): string {
  if (record === undefined || record.attempts === 0) {
    const success =
      record?.lastSuccessAt === undefined ? '' : `, last success ${new Date(record.lastSuccessAt).toISOString()}`;
    return `no attempt without a success on record (0 of ${MAX_LOGIN_ATTEMPTS})${success}`;
  }
  const parts = [`${record.attempts} of ${MAX_LOGIN_ATTEMPTS} consecutive attempts without a success`];
  const inFlight = record.leaseUntil !== undefined && record.leaseUntil > now;
  // An attempt whose lease ran out without a verdict: its process stopped or could not write.
  const outcome =
    record.lastOutcome === 'in flight' && !inFlight ? 'no verdict recorded' : (record.lastOutcome ?? 'unknown');
  if (record.lastAttemptAt !== undefined)
    parts.push(`last ${new Date(record.lastAttemptAt).toISOString()}: ${outcome}`);
  // In flight first: a reset now would let another attempt run beside it, which could be the fifth.
  if (inFlight && record.attempts >= MAX_LOGIN_ATTEMPTS)
    parts.push('the last attempt allowed is in flight: wait for its verdict before a reset');
  else if (inFlight) parts.push('an attempt is in flight');
  else if (record.attempts >= MAX_LOGIN_ATTEMPTS) parts.push('STOPPED: no login is tried until a reset');
  else if (record.pausedUntil !== undefined && record.pausedUntil > now)
    parts.push(`the same password is paused for another ${Math.ceil((record.pausedUntil - now) / 1000)} s`);
  return parts.join('; ');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
