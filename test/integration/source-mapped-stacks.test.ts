import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_HANDLER_FILE, esbuildOptionsFor } from '../../lib/lambda-bundling';
import { historyRequestEvent } from '../support/lambda';

// The deployed API bundle in a fresh process without --enable-source-maps, answering a request its
// configuration cannot serve (no TABLE_NAME): the handler logs the unforeseen failure with its stack.
const REPO = path.resolve(import.meta.dirname, '../..');
const CONFIGURATION_SOURCE = path.join(REPO, 'functions/commons/configuration.ts');
const workDir = mkdtempSync(path.join(tmpdir(), 'fota-stacks-'));
const bundleDir = path.join(workDir, 'bundle');
const childScript = path.join(workDir, 'invoke.mjs');
const eventFile = path.join(workDir, 'event.json');
const outOfHandlesScript = path.join(workDir, 'invoke-out-of-handles.mjs');

const CHILD = `
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [bundle, eventFile] = process.argv.slice(2);
const { handler } = await import(pathToFileURL(bundle).href);
const context = {
  functionName: 'fota-history-test', functionVersion: '$LATEST', memoryLimitInMB: '512',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:fota-history-test',
  awsRequestId: '00000000-0000-4000-8000-000000000000', getRemainingTimeInMillis: () => 28000,
};
const result = await handler(JSON.parse(readFileSync(eventFile, 'utf8')), context);
process.stdout.write('@@status ' + result.statusCode + '\\n');
`;

// The same, twice, in a process whose first read of a source map fails for want of file handles.
const CHILD_OUT_OF_HANDLES = `
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { pathToFileURL } from 'node:url';
const readFileSync = fs.readFileSync;
let refused = false;
fs.readFileSync = (file, ...rest) => {
  if (!refused && String(file).endsWith('.map')) {
    refused = true;
    throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
  }
  return readFileSync(file, ...rest);
};
syncBuiltinESMExports();
const [bundle, eventFile] = process.argv.slice(2);
const { handler } = await import(pathToFileURL(bundle).href);
const context = { functionName: 'fota-history-test', awsRequestId: 'test', getRemainingTimeInMillis: () => 28000 };
for (let attempt = 0; attempt < 2; attempt += 1) {
  const result = await handler(JSON.parse(readFileSync(eventFile, 'utf8')), context);
  process.stdout.write('@@status ' + result.statusCode + '\\n');
}
`;

interface LoggedError {
  name: string;
  location: string;
  message: string;
  stack: string;
}

/** Runs the bundle in `dir` (with `script`, by default once); its answer's status and the errors it logged. */
async function invokeBundle(
  dir: string,
  script = childScript,
): Promise<{ status: string | undefined; error: LoggedError | undefined; errors: LoggedError[] }> {
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    [script, path.join(dir, BUNDLED_HANDLER_FILE), eventFile],
    {
      env: {
        PATH: process.env.PATH,
        NODE_OPTIONS: '',
        AWS_REGION: 'us-east-1',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        THINGSPACE_CREDENTIALS: JSON.stringify({ appKey: 'k', appSecret: 's', username: 'u', password: 'p' }),
        THINGSPACE_BASE_URL: 'http://127.0.0.1:9',
        POWERTOOLS_LOG_LEVEL: 'ERROR',
        POWERTOOLS_TRACE_ENABLED: 'false',
        POWERTOOLS_METRICS_DISABLED: 'true',
      },
    },
  );
  const lines = `${stdout}\n${stderr}`.split('\n');
  const errors = lines
    .filter((line) => line.startsWith('{') && line.includes('"request failed"'))
    .map((line) => (JSON.parse(line) as { error: LoggedError }).error);
  return {
    status: lines.find((line) => line.startsWith('@@status '))?.slice('@@status '.length),
    error: errors[0],
    errors,
  };
}

const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The line of configuration.ts that throws for a missing setting. */
function missingSettingLine(): number {
  const lines = readFileSync(CONFIGURATION_SOURCE, 'utf8').split('\n');
  return lines.findIndex((line) => line.includes('is not set`);')) + 1;
}

/** A copy of the bundle whose map is `map` (undefined: no map file at all). */
function bundleWithMap(name: string, map: string | undefined): string {
  const dir = path.join(workDir, name);
  mkdirSync(dir);
  copyFileSync(path.join(bundleDir, BUNDLED_HANDLER_FILE), path.join(dir, BUNDLED_HANDLER_FILE));
  if (map !== undefined) writeFileSync(path.join(dir, `${BUNDLED_HANDLER_FILE}.map`), map);
  return dir;
}

beforeAll(async () => {
  // Prepare (once): the API function bundled as the stack bundles it, and the request.
  await build({ ...esbuildOptionsFor(path.join(REPO, 'functions/get-history-api.ts'), bundleDir), logLevel: 'silent' });
  writeFileSync(childScript, CHILD);
  writeFileSync(outOfHandlesScript, CHILD_OUT_OF_HANDLES);
  writeFileSync(
    eventFile,
    JSON.stringify(historyRequestEvent({ account: '0242078689-00001', deviceId: '990000473475989' })),
  );
}, 60_000);

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('stack traces in the logs of a bundled function', () => {
  it('name the TypeScript source, line and function, not the bundle', async () => {
    // Act
    const { status, error } = await invokeBundle(bundleDir);

    // Assess
    expect(status).toBe('500');
    const line = missingSettingLine();
    expect(line).toBeGreaterThan(0);
    expect(error?.message).toBe('TABLE_NAME is not set');
    expect(error?.location).toBe(`${CONFIGURATION_SOURCE}:${line}`);
    const frames = error?.stack.split('\n') ?? [];
    expect(frames[0]).toBe('ConfigurationError: TABLE_NAME is not set');
    expect(frames[1]).toMatch(
      new RegExp(`^ {4}at required \\(${literally(`${CONFIGURATION_SOURCE}:${line}`)}:\\d+\\)$`),
    );
    expect(frames).toContainEqual(
      expect.stringMatching(
        new RegExp(`^ {4}at answer \\(${literally(path.join(REPO, 'functions/get-history-api.ts'))}:\\d+:\\d+\\)$`),
      ),
    );
    expect(error?.stack).not.toContain(BUNDLED_HANDLER_FILE);
  });

  it('map the next stack when the map could not be read for a passing reason (out of file handles)', async () => {
    // Act
    const { errors } = await invokeBundle(bundleDir, outOfHandlesScript);

    // Assess: the first stack keeps the bundle's frames, the second names the source.
    expect(errors).toHaveLength(2);
    expect(errors[0]?.stack).toContain(BUNDLED_HANDLER_FILE);
    expect(errors[1]?.stack).toContain(`${CONFIGURATION_SOURCE}:${missingSettingLine()}`);
    expect(errors[1]?.stack).not.toContain(BUNDLED_HANDLER_FILE);
  });

  it.each([
    ['no map beside the bundle', undefined],
    ['a map that is not JSON', '{"version":3,"sources":['],
    ['a map without mappings', '{"version":3,"sources":["get-history-api.ts"]}'],
  ])('keep the bundle frames and the answer when there is %s', async (name, map) => {
    // Prepare
    const dir = bundleWithMap(name.replace(/\W+/g, '-'), map);

    // Act
    const { status, error } = await invokeBundle(dir);

    // Assess
    expect(status).toBe('500');
    expect(error?.message).toBe('TABLE_NAME is not set');
    const frames = error?.stack.split('\n') ?? [];
    expect(frames[0]).toBe('ConfigurationError: TABLE_NAME is not set');
    expect(frames[1]).toMatch(
      new RegExp(`^ {4}at \\S+ \\(${literally(`file://${path.join(dir, BUNDLED_HANDLER_FILE)}`)}:\\d+:\\d+\\)$`),
    );
    expect(error?.stack).not.toContain('.ts:');
  });
});
