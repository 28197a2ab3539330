/**
 * The local commands read their command lines alike (local/command-line.ts): --help prints the usage and
 * exits 0 without doing anything, a mistake is one line naming it and where the help is, exit code 2.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { npmRun } from '../support/local-server-process';

const workDir = mkdtempSync(path.join(tmpdir(), 'fota-command-lines-'));
const dataDir = path.join(workDir, 'data');

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const env = { ...process.env, DATA_DIR: dataDir, DYNAMODB_ENDPOINT: '', TABLE_NAME: '', THINGSPACE_BASE_URL: '' };

describe('the local commands', () => {
  it.each(['backfill', 'export', 'callbacks'])(
    'npm run %s -- --help prints its usage, exits 0 and opens no store',
    async (command) => {
      // Act
      const result = await npmRun(command, ['--help'], env);

      // Assess
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^usage: npm run ${command}`));
      expect(result.stderr).toBe('');
      expect(existsSync(dataDir)).toBe(false);
    },
  );

  it.each([
    ['backfill', ['--all'], 'backfill: unknown option --all (npm run backfill -- --help lists them)\n'],
    ['backfill', ['now'], 'backfill: unexpected argument now (npm run backfill -- --help)\n'],
    [
      'export',
      ['--acount', '0242078689-00001'],
      'export: unknown option --acount (npm run export -- --help lists them)\n',
    ],
    ['export', [], 'export: no --account given (npm run export -- --help)\n'],
    [
      'callbacks',
      ['show', '--account', '0242078689-00001'],
      'callbacks: expected register, list or delete (npm run callbacks -- --help)\n',
    ],
  ])('npm run %s %j refuses with one line and exit code 2', async (command, args, line) => {
    // Act
    const result = await npmRun(command, args, env);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(line);
    expect(existsSync(dataDir)).toBe(false);
  });
});
