// A fresh Lambda-like process for the cold-start benchmark (plain JS: no loader may add to what is measured).
// `node cold-start-child.mjs <bundle.mjs | -> <event.json | ->`: loads the bundle, hands its handler the
// event once, prints one `@@bench {...}` line and exits. With `-` for the bundle it only prints: the empty
// process the bundle is compared with pays for this script and nothing else.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [bundle = '-', eventFile = '-'] = process.argv.slice(2);
const report = (fields) => {
  const cpu = process.cpuUsage();
  // CPU time (all threads) is what a busy machine disturbs least; wall time is what a caller waits.
  process.stdout.write(
    `@@bench ${JSON.stringify({ ...fields, sinceProcessStartMs: performance.now(), cpuMs: (cpu.user + cpu.system) / 1000 })}\n`,
  );
  process.exit(0);
};

if (bundle === '-') report({});

function lambdaContext() {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'fota-history-bench',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:fota-history-bench',
    memoryLimitInMB: '512',
    awsRequestId: '00000000-0000-4000-8000-000000000000',
    logGroupName: '/aws/lambda/fota-history-bench',
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

const startedAt = performance.now();
const module = await import(pathToFileURL(bundle).href);
const loadedAt = performance.now();
if (eventFile === '-') report({ loadMs: loadedAt - startedAt, ok: typeof module.handler === 'function' });

const event = JSON.parse(readFileSync(eventFile, 'utf8'));
let outcome;
try {
  const result = await module.handler(event, lambdaContext());
  outcome = { ok: true, statusCode: result?.statusCode, failures: result?.batchItemFailures?.length };
} catch (error) {
  outcome = { ok: false, error: String(error?.name ?? error) };
}
report({ loadMs: loadedAt - startedAt, firstEventMs: performance.now() - loadedAt, ...outcome });
