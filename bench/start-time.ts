/**
 * Section: `npm start` from spawn to listening (issue 13: within 1 s on a quiet 2-core machine), with
 * the bundle already built (launch.mjs rebuilds it only when a source changes), against an empty Node
 * process, and against BENCH_BASELINE_DIR's checkout when given. Each variant keeps one DATA_DIR across
 * its trials (a user's usual start opens an existing store); the built-in simulator is used. Trials
 * are interleaved, so drift on the machine hits every variant alike.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { stopChild, track } from './lib/children';
import { baselineRoot, HOST, PROJECT_ROOT } from './lib/environment';
import { median, percentile, round } from './lib/stats';

export interface StartTimeRow {
  name: string;
  command: string;
  /** Median wall time from spawn to the `listening on` line (to exit, for the empty process). */
  medianMs: number;
  p90Ms: number;
  minMs: number;
  maxMs: number;
}

export interface StartTimeResults {
  trials: number;
  /** The machine's load average (1, 5, 15 min) after the last trial. */
  loadAverage: number[];
  rows: StartTimeRow[];
}

const TRIALS = 6;
const START_TIMEOUT_MS = 20_000;

interface Variant {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  /** The empty process exits; a server is timed to its `listening on` line and stopped. */
  server: boolean;
}

/** One spawn, timed to the line that says it listens (or to its exit), then stopped and waited for. */
function timeOnce(variant: Variant, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const child = track(
      spawn(variant.command, variant.args, { cwd: variant.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2_000);
    });
    let listeningAt: number | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${variant.name} did not listen within ${START_TIMEOUT_MS} ms: ${stderr}`));
    }, START_TIMEOUT_MS);
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (listeningAt !== undefined || !variant.server || !line.includes('listening on')) return;
      listeningAt = performance.now() - startedAt;
      // Stopped as a user stops it (the store is flushed); the next trial waits for the exit.
      void stopChild(child);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!variant.server) resolve(performance.now() - startedAt);
      else if (listeningAt !== undefined) resolve(listeningAt);
      else reject(new Error(`${variant.name} exited (${code}) before it listened: ${stderr}`));
    });
  });
}

export async function measureStartTime(log: (line: string) => void): Promise<StartTimeResults> {
  const variants: Variant[] = [
    { name: 'empty Node process', command: process.execPath, args: ['-e', ''], cwd: PROJECT_ROOT, server: false },
    {
      name: 'node local/launch.mjs start',
      command: process.execPath,
      args: ['local/launch.mjs', 'start'],
      cwd: PROJECT_ROOT,
      server: true,
    },
    { name: 'npm start', command: 'npm', args: ['start', '--silent'], cwd: PROJECT_ROOT, server: true },
  ];
  const other = process.env.BENCH_NODE;
  if (other) {
    // Another runtime (BENCH_NODE): its own empty process, and the same start; it builds its own bundle.
    const version = execFileSync(other, ['--version'], { encoding: 'utf8' }).trim();
    variants.push(
      {
        name: `empty Node process (Node ${version})`,
        command: other,
        args: ['-e', ''],
        cwd: PROJECT_ROOT,
        server: false,
      },
      {
        name: `node local/launch.mjs start (Node ${version})`,
        command: other,
        args: ['local/launch.mjs', 'start'],
        cwd: PROJECT_ROOT,
        server: true,
      },
    );
  }
  const base = baselineRoot();
  if (base) {
    variants.push({
      name: `node local/launch.mjs start (baseline: ${base})`,
      command: process.execPath,
      args: ['local/launch.mjs', 'start'],
      cwd: base,
      server: true,
    });
  }
  const dataDirs = variants.map(() => mkdtempSync(path.join(tmpdir(), 'fota-bench-start-')));
  const envFor = (index: number): NodeJS.ProcessEnv => ({
    ...process.env,
    PORT: '0',
    HOST,
    DATA_DIR: dataDirs[index],
    LOG_FORMAT: 'json',
    THINGSPACE_BASE_URL: '',
    THINGSPACE_CREDENTIALS: '',
    DYNAMODB_ENDPOINT: '',
    TABLE_NAME: '',
  });
  try {
    const times = variants.map(() => [] as number[]);
    // One discarded start each: builds the bundle if a source changed, creates the store, fills the OS cache.
    for (const [index, variant] of variants.entries()) await timeOnce(variant, envFor(index));
    for (let trial = 0; trial < TRIALS; trial += 1) {
      for (let offset = 0; offset < variants.length; offset += 1) {
        const index = (trial + offset) % variants.length;
        times[index]!.push(await timeOnce(variants[index]!, envFor(index)));
      }
    }
    const rows = variants.map((variant, index) => ({
      name: variant.name,
      command: [path.basename(variant.command), ...variant.args].join(' '),
      medianMs: round(median(times[index]!), 1),
      p90Ms: round(percentile(times[index]!, 90), 1),
      minMs: round(Math.min(...times[index]!), 1),
      maxMs: round(Math.max(...times[index]!), 1),
    }));
    const loadAverage = os.loadavg().map((value) => round(value, 2));
    log(`start: ${rows.map((row) => `${row.name} ${row.medianMs} ms`).join(', ')}; load ${loadAverage.join(' ')}`);
    return { trials: TRIALS, loadAverage, rows };
  } finally {
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  }
}
