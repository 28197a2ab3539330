import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
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

/** The first numeric field whose name says devices per second, wherever it sits in the object. */
function findNumber(value: unknown, pattern: RegExp): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, field] of Object.entries(value)) {
    if (typeof field === 'number' && pattern.test(key)) return field;
  }
  for (const field of Object.values(value)) {
    const found = findNumber(field, pattern);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Section 5: bench/sync-throughput.ts (a local fleet pass over 10,000 simulated devices, written
 * separately) in its own process, bounded in time; its JSON is reported as it printed it.
 */
export async function measureSyncThroughput(log: (line: string) => void): Promise<SyncThroughputResult> {
  if (!existsSync(SCRIPT)) {
    return { measured: false, reason: 'bench/sync-throughput.ts does not exist yet (it is being written separately)' };
  }
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
  const devicesPerSecond = findNumber(raw, /devices.?per.?s|per.?second|throughput/i);
  const devices = findNumber(raw, /^devices$|deviceCount|devicesSynced|fleetSize/i);
  log(`sync: ${devicesPerSecond ?? '?'} devices/s`);
  return {
    measured: devicesPerSecond !== undefined,
    devicesPerSecond,
    devices,
    raw,
    ...(devicesPerSecond === undefined ? { reason: 'no devices-per-second field in its JSON' } : {}),
  };
}
