/**
 * Where a `node --cpu-prof` profile spent its time, by package: samples in a bundle are mapped back
 * through its source map (Node's own SourceMap), so a minified Lambda bundle reads as
 * `@smithy/core`, `zod`, `node:internal/...`, and so on. With `--stages`, by stage of a history request
 * instead (HTTP parse, event build, ..., response write; see STAGES), for a profile of `npm start`'s server.
 * `npx tsx bench/cpu-profile-summary.ts [--stages] <profile.cpuprofile> [bundle.mjs]`
 */
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';

interface CallFrame {
  url: string;
  functionName: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A frame as its source names it: the original file (through the bundle's map) and the function. */
interface Frame {
  /** Project-relative path (`local/api-gateway-server.ts`), `node_modules/<package>/...`, or `node:<module>`. */
  file: string;
  name: string;
}

function readProfile(profileFile: string) {
  const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as Profile;
  return { profile, nodes: new Map(profile.nodes.map((node) => [node.id, node])) };
}

function sourceMapOf(bundleFile: string | undefined): SourceMap | undefined {
  if (!bundleFile) return undefined;
  try {
    return new SourceMap(JSON.parse(readFileSync(`${bundleFile}.map`, 'utf8')));
  } catch {
    return undefined;
  }
}

function frameOf(callFrame: CallFrame, map: SourceMap | undefined, bundleFile: string | undefined): Frame {
  const { url, functionName, lineNumber, columnNumber } = callFrame;
  // esbuild renames a function whose name another module also uses (write → write2).
  const name = functionName.replace(/\d+$/, '');
  if (!url) return { file: '', name: functionName };
  let file = url;
  if (map && bundleFile && url.endsWith(bundleFile.split('/').pop()!)) {
    const entry = map.findEntry(lineNumber, columnNumber) as { originalSource?: string };
    file = entry.originalSource ?? '(bundle, unmapped)';
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)(\/.*)?$/.exec(file);
  if (pkg) return { file: `node_modules/${pkg[1]}${pkg[2] ?? ''}`, name };
  const own = /\/(local|functions|adapters|services|domain|bench)\/(.*)$/.exec(file);
  if (own) return { file: `${own[1]}/${own[2]}`, name };
  return { file: file.replace(/^node:internal\/(deps\/)?/, 'node:'), name };
}

export function summarizeProfile(profileFile: string, bundleFile?: string): Array<{ where: string; ms: number }> {
  const { profile, nodes } = readProfile(profileFile);
  const map = sourceMapOf(bundleFile);
  const totals = new Map<string, number>();
  profile.samples.forEach((id, index) => {
    const callFrame = nodes.get(id)!.callFrame;
    let where: string;
    if (!callFrame.url) {
      where = `(${callFrame.functionName || 'native'})`;
    } else {
      const { file } = frameOf(callFrame, map, bundleFile);
      where =
        /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? (file.startsWith('node:') ? file : `own: ${file}`);
    }
    totals.set(where, (totals.get(where) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000);
  });
  return [...totals].map(([where, ms]) => ({ where, ms })).sort((a, b) => b.ms - a.ms);
}

/**
 * The stages of `GET /reports/{account}/devices/{deviceId}` on npm start's server. A sample belongs to
 * the stage of the innermost frame on its stack that a rule names (so zod under parseHistory is
 * validation, and a socket write under the server's `write` is the response write). Promise
 * continuations lose their callers, which is why the rules name packages as well as our functions. A
 * `fallback` rule (node's HTTP internals) counts only when no other rule matches the stack.
 */
const STAGES: Array<{ stage: string; matches: (frame: Frame) => boolean; fallback?: true }> = [
  { stage: 'GC', matches: (f) => f.name === '(garbage collector)' },
  { stage: 'async hooks (X-Ray context tracking)', matches: (f) => /^node:async_hooks|cls-hooked/.test(f.file) },
  {
    stage: 'response write',
    matches: (f) =>
      (f.file === 'local/api-gateway-server.ts' && /^(write|accessEntry)$/.test(f.name)) ||
      f.file === 'local/access-log.ts',
  },
  { stage: 'serialize', matches: (f) => f.file === 'functions/commons/api-responses.ts' },
  { stage: 'merge', matches: (f) => f.file === 'domain/history-merge.ts' },
  {
    stage: 'plan (+ empty applyWrites)',
    matches: (f) =>
      f.file === 'domain/archive-plan.ts' ||
      (f.file === 'adapters/dynamodb/dynamodb-history-store.ts' && /^(applyWrites|applyWrite)$/.test(f.name)) ||
      (f.file === 'adapters/dynamodb/retry.ts' && f.name === 'mapWithConcurrency'),
  },
  {
    stage: 'validation (JSON.parse + screen)',
    matches: (f) =>
      f.file === 'adapters/thingspace/schemas.ts' ||
      f.file === 'domain/upstream-record.ts' ||
      f.file.startsWith('node_modules/zod/'),
  },
  {
    stage: 'token/session check',
    matches: (f) =>
      f.file === 'adapters/thingspace/auth-session.ts' ||
      f.file === 'adapters/thingspace/credentials.ts' ||
      f.file === 'functions/commons/history-dependencies.ts' ||
      (f.file === 'adapters/thingspace/client.ts' && f.name === 'readCredentials'),
  },
  {
    stage: 'upstream call (request, answer, UTF-8 check)',
    matches: (f) => /^adapters\/thingspace\/(http-exchange|exchange|error-answers|budget|client)\.ts$/.test(f.file),
  },
  {
    stage: 'archive Query: the store (dynalite, LevelDB)',
    matches: (f) => /^node_modules\/(dynalite|(classic|abstract|memory)-level|level[-\w]*|lazy|big\.js)\//.test(f.file),
  },
  {
    stage: 'archive Query: SDK client',
    matches: (f) =>
      /^node_modules\/(@aws-sdk|@smithy|@aws-crypto|fast-xml-parser|tslib)\//.test(f.file) ||
      /^adapters\/dynamodb\//.test(f.file),
  },
  {
    stage: 'metrics flush and other after-middleware',
    matches: (f) =>
      /middleware\/middy\.js$/.test(f.file) && /^(after|logMetricsAfterOrError|close|onError)$/.test(f.name),
  },
  {
    stage: 'middy/Powertools before (+ handler glue)',
    matches: (f) =>
      f.file.startsWith('node_modules/@middy/') ||
      f.file.startsWith('node_modules/@aws-lambda-powertools/') ||
      f.file.startsWith('functions/') ||
      f.file.startsWith('services/') ||
      f.file === 'domain/device-key.ts',
  },
  {
    stage: 'event build (route, API Gateway event, context)',
    matches: (f) => f.file === 'local/api-gateway-server.ts' || f.file === 'local/lambda-emulation.ts',
  },
  {
    stage: 'HTTP parse (server side)',
    matches: (f) => /^node:_http_(server|incoming)$/.test(f.file) || /^node:_http_common$/.test(f.file),
    fallback: true,
  },
  {
    stage: 'client sockets (upstream and store connections)',
    matches: (f) => /^node:(_http_client|_http_agent|_http_outgoing|net)$/.test(f.file),
    fallback: true,
  },
];

/** Loading and evaluating modules: the server's start, not a request's work. */
export const START_UP_STAGE = 'start-up (loading modules)';

export interface StageRow {
  stage: string;
  ms: number;
  /** ms divided by the requests the profile covers, when given. */
  msPerRequest?: number;
}

/** CPU time by stage (idle excluded), largest first. */
export function summarizeStages(profileFile: string, bundleFile?: string, requests?: number): StageRow[] {
  const { profile, nodes } = readProfile(profileFile);
  const map = sourceMapOf(bundleFile);
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const frames = new Map<number, Frame>();
  const frame = (id: number) => {
    let found = frames.get(id);
    if (!found) {
      found = frameOf(nodes.get(id)!.callFrame, map, bundleFile);
      frames.set(id, found);
    }
    return found;
  };
  const stageOf = new Map<number, string>();
  const totals = new Map<string, number>();
  profile.samples.forEach((id, index) => {
    const leaf = nodes.get(id)!.callFrame.functionName;
    if (leaf === '(idle)' || leaf === '(program)') return;
    let stage = stageOf.get(id);
    if (stage === undefined) {
      for (let current: number | undefined = id; current !== undefined; current = parents.get(current)) {
        if (/^node:modules\//.test(frame(current).file)) stage = START_UP_STAGE;
      }
    }
    if (stage === undefined) {
      let fallback: string | undefined;
      let found: string | undefined;
      for (let current: number | undefined = id; current !== undefined && !found; current = parents.get(current)) {
        for (const rule of STAGES) {
          if (!rule.matches(frame(current))) continue;
          if (rule.fallback) fallback ??= rule.stage;
          else found = rule.stage;
          break;
        }
      }
      stage = found ?? fallback ?? 'other (event loop, timers, stdout, ...)';
      stageOf.set(id, stage);
    }
    totals.set(stage, (totals.get(stage) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000);
  });
  return [...totals]
    .map(([stage, ms]) => ({ stage, ms, ...(requests ? { msPerRequest: ms / requests } : {}) }))
    .sort((a, b) => b.ms - a.ms);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const stages = args[0] === '--stages';
  const [profileFile, bundleFile] = stages ? args.slice(1) : args;
  if (!profileFile) throw new Error('usage: cpu-profile-summary.ts [--stages] <profile.cpuprofile> [bundle.mjs]');
  if (stages) {
    const rows = summarizeStages(profileFile, bundleFile);
    const busy = rows.reduce((sum, row) => sum + row.ms, 0);
    process.stdout.write(`busy ${busy.toFixed(1)} ms\n`);
    for (const row of rows) process.stdout.write(`${row.ms.toFixed(1).padStart(8)} ms  ${row.stage}\n`);
  } else {
    const rows = summarizeProfile(profileFile, bundleFile);
    const busy = rows
      .filter((row) => row.where !== '((idle))' && row.where !== '((program))')
      .reduce((sum, row) => sum + row.ms, 0);
    process.stdout.write(`busy ${busy.toFixed(1)} ms\n`);
    for (const row of rows.slice(0, 25)) process.stdout.write(`${row.ms.toFixed(1).padStart(8)} ms  ${row.where}\n`);
  }
}
