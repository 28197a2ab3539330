/**
 * npm start as a child process for the end-to-end tests: launched as a user types it, waited for until
 * it listens, and stopped as a whole process group.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The repository root, where `npm start` is run. */
export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');

/**
 * How the server is launched: `npm start` as the README says (npm -> node, the script execs it), or
 * node directly, whose exit code is exactly the server's.
 */
export type Launcher = 'npm' | 'node';

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface LocalServerProcess {
  /** e.g. http://127.0.0.1:54321, read from the "listening on" line. */
  readonly url: string;
  /** The launched process; also its process group id (it is started detached). */
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr together. */
  output(): string;
  /** Resolves when the launched process has exited. */
  readonly exited: Promise<ExitResult>;
  /**
   * Sends `signal` to the whole process group (what Ctrl-C and `kill -- -<pgid>` do) or to the
   * launched process alone (what a supervisor that knows one pid does), waits for it to exit and for
   * every process of the group to be gone. Rejects if a process of the group is still alive.
   */
  stop(signal?: NodeJS.Signals, target?: 'group' | 'launcher'): Promise<ExitResult>;
}

/** Variables of the developer's shell (or of the test runner) that must not leak into the server. */
const INHERITED_BUT_NOT_WANTED =
  /^(POWERTOOLS_|AWS_|THINGSPACE_|DYNAMODB_|npm_|NODE_OPTIONS$|NODE_ENV$|TABLE_NAME$|DATA_DIR$|PORT$|HOST$|VITEST)/i;

/** The environment of a developer who types the command: PATH, HOME, ... plus `env`. */
export function serverEnvironment(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!INHERITED_BUT_NOT_WANTED.test(name) && name !== 'TEST' && name !== 'MODE') base[name] = value;
  }
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete base[name];
    else base[name] = value;
  }
  return base;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export async function makeTempDir(prefix = 'fota-history-e2e-'): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Live (not zombie) processes in the process group; zombies are already dead and hold nothing. */
function liveProcessesInGroup(pgid: number): string[] {
  let listing: string;
  try {
    listing = execFileSync('ps', ['-e', '-o', 'pid=,pgid=,stat=,args='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return listing
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => {
      const [, group, stat] = line.split(/\s+/);
      return Number(group) === pgid && stat !== undefined && !stat.startsWith('Z');
    });
}

async function waitFor<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

function launch(launcher: Launcher, env: Record<string, string | undefined>): ChildProcess {
  const [command, args] =
    launcher === 'npm' ? ['npm', ['start']] : [process.execPath, ['--import', 'tsx', 'local/start.ts']];
  return spawn(command as string, args as string[], {
    cwd: PROJECT_ROOT,
    env: serverEnvironment(env),
    // Its own process group, so a stop can signal npm and the server together.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function collect(child: ChildProcess): { stdout: () => string; stderr: () => string; exited: Promise<ExitResult> } {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<ExitResult>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  return { stdout: () => stdout, stderr: () => stderr, exited };
}

const LISTENING = /listening on (http:\/\/\S+)/;

/** Launches the server and resolves once it prints its "listening on" line. */
export async function startLocalServer(options: {
  env: Record<string, string | undefined>;
  launcher?: Launcher;
  startTimeoutMs?: number;
}): Promise<LocalServerProcess> {
  const child = launch(options.launcher ?? 'npm', options.env);
  const pid = child.pid as number;
  const { stdout, stderr, exited } = collect(child);
  let exit: ExitResult | undefined;
  void exited.then((result) => (exit = result));

  const url = await waitFor(
    () => {
      const match = LISTENING.exec(stdout());
      if (match) return match[1] as string;
      if (exit)
        throw new Error(`the server exited (${JSON.stringify(exit)}) before listening:\n${stdout()}\n${stderr()}`);
      return undefined;
    },
    options.startTimeoutMs ?? 25_000,
    'the "listening on" line',
  ).catch((error: Error) => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
    throw error;
  });

  return {
    url,
    pid,
    stdout,
    stderr,
    output: () => `${stdout()}${stderr()}`,
    exited,
    async stop(signal = 'SIGTERM', target = 'group') {
      if (!exit) {
        try {
          process.kill(target === 'group' ? -pid : pid, signal);
        } catch {
          // already gone
        }
      }
      const result = await Promise.race([
        exited,
        new Promise<undefined>((done) => setTimeout(() => done(undefined), 10_000).unref()),
      ]);
      await waitFor(
        () => (liveProcessesInGroup(pid).length === 0 ? true : undefined),
        10_000,
        'the process group to end',
      ).catch(() => undefined);
      const strays = liveProcessesInGroup(pid);
      if (!result || strays.length > 0) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
        throw new Error(
          `the server did not stop after ${signal}; still running:\n${strays.join('\n')}\n${stdout()}\n${stderr()}`,
        );
      }
      return result;
    },
  };
}

/** Runs the launcher until it exits on its own (a start-up that must fail); kills it if it starts. */
export async function runUntilExit(options: {
  env: Record<string, string | undefined>;
  launcher?: Launcher;
  timeoutMs?: number;
}): Promise<ExitResult & { stdout: string; stderr: string }> {
  const child = launch(options.launcher ?? 'npm', options.env);
  const pid = child.pid as number;
  const { stdout, stderr, exited } = collect(child);
  const timer = setTimeout(() => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, options.timeoutMs ?? 15_000);
  const result = await exited;
  clearTimeout(timer);
  return { ...result, stdout: stdout(), stderr: stderr() };
}

/**
 * `npm run <script> -- <args>` to its exit, output captured through pipes (not a TTY); `--silent` unless
 * `npmNotes` keeps npm's own lines.
 */
export function npmRun(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: { npmNotes?: boolean } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('npm', ['run', ...(options.npmNotes ? [] : ['--silent']), script, '--', ...args], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { stdout, stderr } = collect(child);
  return new Promise((done, fail) => {
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout: stdout(), stderr: stderr() }));
  });
}

/** The lines a start-up failure printed on stderr, without npm's own notes. */
export function meaningfulLines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '' && !line.startsWith('npm '));
}
