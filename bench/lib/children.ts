/**
 * Every process the benchmark starts goes through here, so that it can be stopped by its own pid
 * when the run ends, fails, times out or is interrupted: the benchmark leaves nothing running.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const running = new Set<ChildProcess>();

/** Registers a child started elsewhere, so that the run's end or an interrupt stops it too. */
export function track<T extends ChildProcess>(child: T): T {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

export interface StartedChild {
  child: ChildProcess;
  pid: number;
  /** The first stdout line that matched, with its capture groups. */
  match: RegExpExecArray;
  stop(): Promise<void>;
}

/** Spawns a long-lived child and waits (bounded) for a stdout line matching `ready`. */
export async function startChild(
  command: string,
  args: readonly string[],
  options: SpawnOptions & { ready: RegExp; readyTimeoutMs?: number; name: string },
): Promise<StartedChild> {
  const child = track(spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const lines = createInterface({ input: child.stdout! });
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${options.name} did not start within ${options.readyTimeoutMs ?? 30_000} ms: ${stderr}`));
    }, options.readyTimeoutMs ?? 30_000);
    lines.on('line', (line) => {
      const found = options.ready.exec(line);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited (${code}) before it was ready: ${stderr}`));
    });
  }).catch(async (error: unknown) => {
    await stopChild(child);
    throw error;
  });
  // Keep draining its output so a chatty child never blocks on a full pipe.
  child.stdout?.resume();
  return { child, pid: child.pid!, match, stop: () => stopChild(child) };
}

/** SIGTERM, then SIGKILL after a grace period; resolves once the child has exited. */
export function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Kills whatever is still running, synchronously (for exit and signal handlers). */
export function killAllStartedChildren(): void {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

export async function stopAllStartedChildren(): Promise<void> {
  await Promise.all([...running].map((child) => stopChild(child)));
}

/** Peak resident set size (VmHWM) of a process, in MB; Linux only, undefined elsewhere. */
export function peakRssMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}
