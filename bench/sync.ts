/**
 * Section 5: bench/sync-throughput.ts (a local fleet pass over 10,000 simulated devices) in its own
 * process, bounded in time; its JSON is reported as it printed it.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { track } from './lib/children';
import { PROJECT_ROOT, TSX_NODE_ARGS } from './lib/environment';

export interface SyncThroughputResult {
  measured: boolean;
  devicesPerSecond?: number;
  devices?: number;
  /** What bench/sync-throughput.ts printed (its last JSON line), as is. */
  raw?: unknown;
  reason?: string;
}

const SCRIPT = path.join(PROJECT_ROOT, 'bench/sync-throughput.ts');
const TIMEOUT_MS = 150_000;

export async function measureSyncThroughput(log: (line: string) => void): Promise<SyncThroughputResult> {
  const child = track(
    spawn(process.execPath, [...TSX_NODE_ARGS, SCRIPT], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env },
    }),
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2_000)));
  const exit = await new Promise<{ code: number | null; timedOut: boolean }>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      resolve({ code: null, timedOut: true });
    }, TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, timedOut: false });
    });
  });
  if (exit.timedOut) {
    await new Promise<void>((resolve) =>
      child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
    );
    return { measured: false, reason: `bench/sync-throughput.ts did not finish within ${TIMEOUT_MS / 1000} s` };
  }
  const jsonLine = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((line) => line.trim().startsWith('{'));
  let raw: unknown;
  try {
    raw = jsonLine === undefined ? undefined : JSON.parse(jsonLine);
  } catch {
    raw = undefined;
  }
  if (exit.code !== 0 || raw === undefined) {
    return {
      measured: false,
      reason: `bench/sync-throughput.ts exited ${exit.code} without JSON: ${stderr.split('\n').slice(-3).join(' ')}`,
    };
  }
  const { devicesPerSecond, devices } = numbers(raw as Record<string, unknown>);
  log(`sync: ${devicesPerSecond ?? '?'} devices/s`);
  return {
    measured: devicesPerSecond !== undefined,
    devicesPerSecond,
    devices,
    raw,
    ...(devicesPerSecond === undefined ? { reason: 'no devices-per-second field in its JSON' } : {}),
  };
}

/** The two fields of sync-throughput.ts's JSON line that the report shows, when they are numbers. */
function numbers(raw: Record<string, unknown>): { devicesPerSecond?: number; devices?: number } {
  const number = (value: unknown) => (typeof value === 'number' ? value : undefined);
  return { devicesPerSecond: number(raw.devicesPerSecond), devices: number(raw.devices) };
}
