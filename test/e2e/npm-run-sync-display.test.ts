/**
 * Issue 13, black box: what `npm run sync` shows a person at a terminal. The pass runs in a real
 * pseudo-terminal (util-linux `script`), with a device that keeps failing so that warnings are logged
 * while the bar redraws; the final screen must still hold the summary intact.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CREDENTIALS, startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { npmRun, PROJECT_ROOT, serverEnvironment } from '../support/local-server-process';

const ACCOUNT = '0000000013-00001';
const UNKNOWN_ACCOUNT = '0000000013-00099';
const FLEET_SIZE = 60;
const PAGE_SIZE = 20;

interface RunResult {
  code: number | null;
  output: string;
}

/** Runs `command` in a pseudo-terminal; `onOutput` sees the output as it comes. */
function inTerminal(
  command: string,
  env: NodeJS.ProcessEnv,
  onOutput?: (output: string, child: ReturnType<typeof spawn>) => void,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // -e: script exits with the command's exit code; -q: no "Script started" banner; /dev/null: no typescript file.
    const child = spawn('script', ['-e', '-q', '-c', command, '/dev/null'], {
      cwd: PROJECT_ROOT,
      env: { ...env, TERM: 'xterm', COLUMNS: '200', LINES: '50' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    const take = (chunk: Buffer) => {
      output += chunk.toString();
      onOutput?.(output, child);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

function piped(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return npmRun('sync', args, env);
}

/**
 * The lines a terminal ends up showing: each line's text after its last carriage return or
 * cursor-to-column-1, with escape sequences removed. Torn output (a log written into the bar's line, or
 * the bar drawn over the summary) leaves a line that is not whole.
 */
function screenLines(output: string): string[] {
  return output.split('\n').map((line) => {
    const last =
      line
        .replaceAll('\u001b[1G', '\r')
        .split('\r')
        .filter((part) => stripVTControlCharacters(part) !== '')
        .at(-1) ?? '';
    return stripVTControlCharacters(last).trimEnd();
  });
}

let simulator: ThingSpaceSimulator;
let dataDir: string;
let env: NodeJS.ProcessEnv;
let failing: string;

beforeAll(async () => {
  simulator = await startThingSpaceSimulator({ pageSize: PAGE_SIZE, latencyMs: 20 });
  const fleet = simulator.addSyntheticFleet(ACCOUNT, { size: FLEET_SIZE, recordsPerDevice: 1 });
  failing = fleet.deviceIdAt(7);
  dataDir = await mkdtemp(join(tmpdir(), 'fota-sync-display-'));
  env = serverEnvironment({
    THINGSPACE_BASE_URL: simulator.url,
    THINGSPACE_CREDENTIALS: JSON.stringify(DEMO_CREDENTIALS),
    DATA_DIR: dataDir,
    THINGSPACE_MAX_ATTEMPTS: '2',
    THINGSPACE_RETRY_BASE_MS: '1',
  });
});

afterAll(async () => {
  await simulator.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('npm run sync on a terminal', () => {
  it('keeps the summary intact while warnings are logged, and puts the logs in DATA_DIR/sync.log', async () => {
    // Prepare: a device that fails on every attempt, so the client logs "retrying" warnings
    simulator.reset();
    simulator.setDeviceFault(failing, { kind: 'status', status: 503 });

    // Act
    const result = await inTerminal(`npm run sync -- --account ${ACCOUNT} --account ${UNKNOWN_ACCOUNT}`, env);

    // Assess
    expect(result.code, result.output).toBe(1);
    const screen = screenLines(result.output);
    expect(screen).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^${ACCOUNT}: ${FLEET_SIZE} devices listed, ${FLEET_SIZE} asked, 0 skipped, ${FLEET_SIZE - 1} synced, 1 failed in [0-9.]+ s \\([0-9.]+ devices/s\\)$`,
        ),
      ),
    );
    expect(screen).toContain(`  failed: ${failing} UPSTREAM_UNAVAILABLE`);
    // An account ThingSpace does not know is the account's failure, not a failed device.
    expect(screen).toContainEqual(
      expect.stringMatching(
        new RegExp(`^${UNKNOWN_ACCOUNT}: 0 devices listed, 0 asked, 0 skipped, 0 synced, 0 failed in `),
      ),
    );
    expect(screen).toContainEqual(expect.stringMatching(/^ {2}the account's device list failed: .*AccountNotFound/));
    // The bar's final state: a real total, not 0/0 growing page by page.
    expect(result.output).toContain(`${FLEET_SIZE}/${FLEET_SIZE} devices`);
    expect(result.output).toMatch(/listed so far/);
    // No log line reached the terminal; they are in the log file, naming account and device.
    expect(result.output).not.toContain('"level"');
    const log = await readFile(join(dataDir, 'sync.log'), 'utf8');
    const warning = log
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((entry) => entry.level === 'WARN' && entry.deviceId === failing);
    expect(warning).toMatchObject({ account: ACCOUNT, deviceId: failing, message: expect.any(String) });
    expect(warning).not.toHaveProperty('function_request_id');
    expect(screen).toContainEqual(expect.stringMatching(/^\d+ log lines? written to .*sync\.log$/));
    // The cursor is shown again.
    expect(result.output.lastIndexOf('\u001b[?25h')).toBeGreaterThan(result.output.lastIndexOf('\u001b[?25l'));
  });

  it('stops on Ctrl-C with a summary of what was done, shows the cursor again and removes its pid file', async () => {
    // Prepare: slow enough that the pass is still running when Ctrl-C comes; --full, so the devices the
    // first test synced are asked again instead of skipped as unchanged.
    simulator.reset();
    simulator.setLatency(300);
    let interrupted = false;

    // Act
    const result = await inTerminal(
      `npm run sync -- --account ${ACCOUNT} --concurrency 2 --full`,
      env,
      (output, child) => {
        if (!interrupted && /\[.*\] \d+\/60 devices/.test(output)) {
          interrupted = true;
          child.stdin?.write('\u0003');
        }
      },
    );
    simulator.setLatency(0);

    // Assess
    expect(interrupted).toBe(true);
    expect(result.code, result.output).toBe(130);
    expect(screenLines(result.output)).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^${ACCOUNT}: interrupted: ${FLEET_SIZE} devices listed, \\d+ asked, \\d+ skipped, \\d+ synced, 0 failed in `,
        ),
      ),
    );
    expect(result.output.lastIndexOf('\u001b[?25h')).toBeGreaterThan(result.output.lastIndexOf('\u001b[?25l'));
    expect(existsSync(join(dataDir, 'npm-start.pid'))).toBe(false);
  });
});

describe('npm run sync options', () => {
  it('prints usage and the environment it reads for --help, and exits 0', async () => {
    // Act
    const result = await piped(['--help'], env);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usage: npm run sync -- --account ACCOUNT/);
    for (const variable of [
      'THINGSPACE_BASE_URL',
      'THINGSPACE_CREDENTIALS',
      'THINGSPACE_SECRET_ID',
      'DATA_DIR',
      'DYNAMODB_ENDPOINT',
    ]) {
      expect(result.stdout).toContain(variable);
    }
  });

  it('refuses an unknown option with one line and exit code 2', async () => {
    // Act
    const result = await piped(['--acount', ACCOUNT], env);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('sync: unknown option --acount (npm run sync -- --help lists them)\n');
  });
});
