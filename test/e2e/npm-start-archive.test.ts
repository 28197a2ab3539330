/**
 * Issue 9, black box: `npm run sync` archives a fleet, then `npm start` answers the archive routes over
 * HTTP from the same DATA_DIR (validated against the OpenAPI document), and `npm run export` writes the
 * same query as RFC 4180 CSV and as JSON lines.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UPGRADE_RECORD_FIELDS, type UpgradeRecord } from '../../domain/upgrade-record';
import { startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { E2E_ACCOUNT, E2E_CREDENTIALS, getHistory, getPath, newDeviceId, upgrade } from '../support/e2e-fixtures';
import {
  freePort,
  type LocalServerProcess,
  makeTempDir,
  npmRun,
  serverEnvironment,
  startLocalServer,
} from '../support/local-server-process';
import { openApiDocument, responseErrors } from '../support/openapi';

let simulator: ThingSpaceSimulator;
let server: LocalServerProcess | undefined;
let dataDir: { path: string; remove(): Promise<void> };
const devices = Array.from({ length: 5 }, () => newDeviceId('36'));
const TRICKY_REASON = 'Device said "no", then, later:\nretry';
const fleet: UpgradeRecord[] = [];

function run(script: string, args: string[], env: Record<string, string>) {
  return npmRun(script, args, serverEnvironment(env));
}

const storeEnv = () => ({
  THINGSPACE_BASE_URL: simulator.url,
  THINGSPACE_CREDENTIALS: JSON.stringify(E2E_CREDENTIALS),
  DATA_DIR: dataDir.path,
});

async function getArchive(path: string, resource: string): Promise<{ status: number; body: any }> {
  const answer = await getPath(server!.url, path);
  expect(responseErrors(resource, 'GET', answer.status, answer.body)).toEqual([]);
  return { status: answer.status, body: answer.body };
}

beforeAll(async () => {
  simulator = await startThingSpaceSimulator({ credentials: E2E_CREDENTIALS });
  simulator.addAccount(E2E_ACCOUNT);
  devices.forEach((deviceId, index) => {
    const records = [
      upgrade(deviceId, 1, {
        id: 'campaign-one',
        firmwareTo: 'FW-9',
        startDate: '2025-04-01',
        status: index % 2 ? 'UpgradeFailed' : 'UpgradeSuccess',
        reason: index === 0 ? TRICKY_REASON : 'ok, done',
      }),
      upgrade(deviceId, 2, { id: 'campaign-two', firmwareTo: 'FW-10', startDate: '2025-08-01' }),
    ];
    simulator.setHistory(E2E_ACCOUNT, deviceId, records);
    fleet.push(...records);
  });
  dataDir = await makeTempDir();
  const sync = await run('sync', ['--account', E2E_ACCOUNT], storeEnv());
  expect(sync.code, sync.stdout + sync.stderr).toBe(0);
  server = await startLocalServer({ env: { ...storeEnv(), PORT: String(await freePort()) } });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await simulator?.close();
  await dataDir?.remove();
});

describe('npm start serves the archive routes after npm run sync', () => {
  it('pages through a firmware query to the end, each record once, newest first', async () => {
    // Act
    const seen: UpgradeRecord[] = [];
    let token: string | undefined;
    do {
      const page = await getArchive(
        `/archive/${E2E_ACCOUNT}/upgrades?firmwareTo=FW-9&limit=2${token ? `&nextToken=${encodeURIComponent(token)}` : ''}`,
        '/archive/{account}/upgrades',
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.upgrades);
      token = page.body.nextToken;
    } while (token);

    // Assess
    const expected = fleet
      .filter((record) => record.firmwareTo === 'FW-9')
      .sort((a, b) => (a.deviceId < b.deviceId ? 1 : -1));
    expect(seen).toEqual(expected);
  });

  it("shows a device's last sync and, after ThingSpace changes a status, the change log", async () => {
    // Prepare
    const deviceId = devices[1]!;
    simulator.updateRecord(E2E_ACCOUNT, deviceId, 'campaign-one', { status: 'UpgradeSuccess', reason: 'success' });
    expect((await getHistory(server!.url, E2E_ACCOUNT, deviceId)).status).toBe(200);

    // Act
    const { status, body } = await getArchive(
      `/archive/${E2E_ACCOUNT}/devices/${deviceId}`,
      '/archive/{account}/devices/{deviceId}',
    );

    // Assess
    expect(status).toBe(200);
    expect(body.lastSync).toMatchObject({ outcome: 'success' });
    const changed = body.upgrades.find((upgrade: { id: string }) => upgrade.id === 'campaign-one');
    expect(changed.statusLog.map((entry: { status: string }) => entry.status)).toEqual([
      'UpgradeFailed',
      'UpgradeSuccess',
    ]);
    expect(changed.changedAt > changed.firstSeenAt).toBe(true);
  });

  it("refuses bad parameters and tampered tokens in ThingSpace's error shape", async () => {
    // Prepare
    const first = await getArchive(`/archive/${E2E_ACCOUNT}/upgrades?limit=1`, '/archive/{account}/upgrades');
    const tampered = `${first.body.nextToken.slice(0, -2)}xx`;

    // Act
    const answers = await Promise.all([
      getArchive(`/archive/${E2E_ACCOUNT}/upgrades?sort=asc`, '/archive/{account}/upgrades'),
      getArchive(
        `/archive/${E2E_ACCOUNT}/upgrades?nextToken=${encodeURIComponent(tampered)}`,
        '/archive/{account}/upgrades',
      ),
      getArchive(`/archive/${E2E_ACCOUNT}/upgrades?from=2025-02-30`, '/archive/{account}/upgrades'),
      getArchive(`/archive/not-an-account/devices/${devices[0]}`, '/archive/{account}/devices/{deviceId}'),
    ]);

    // Assess
    for (const answer of answers)
      expect(answer).toMatchObject({ status: 400, body: { errorCode: 'INVALID_PARAMETER' } });
  });

  it('serves the OpenAPI document at /openapi.json, and the history route answers as it describes', async () => {
    // Act
    const answer = await getPath(server!.url, '/openapi.json');
    const history = await getHistory(server!.url, E2E_ACCOUNT, devices[0]!);
    const refused = await getHistory(server!.url, E2E_ACCOUNT, '123');

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(openApiDocument);
    expect(history.status).toBe(200);
    expect(responseErrors('/reports/{account}/devices/{deviceId}', 'GET', history.status, history.body)).toEqual([]);
    expect(refused.status).toBe(400);
    expect(responseErrors('/reports/{account}/devices/{deviceId}', 'GET', refused.status, refused.body)).toEqual([]);
  });
});

describe('npm run export beside a running npm start', () => {
  it("reads the running server's store on the same DATA_DIR instead of refusing it as in use", async () => {
    // Act
    const jsonl = await run('export', ['--account', E2E_ACCOUNT, '--format', 'jsonl'], storeEnv());

    // Assess
    expect(jsonl.code, jsonl.stderr).toBe(0);
    expect(jsonl.stderr).toMatch(/records exported from embedded store of npm start \(pid \d+\)/);
    const lines = jsonl.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as UpgradeRecord);
    expect(lines).toHaveLength(fleet.length);
  });
});

describe('npm run export (on the same DATA_DIR, once npm start has stopped)', () => {
  it('writes the query as RFC 4180 CSV with the nine fields, and as JSON lines', async () => {
    // Prepare
    await server?.stop();
    server = undefined;
    const csvFile = join(dataDir.path, 'export.csv');

    // Act
    const csv = await run('export', ['--account', E2E_ACCOUNT, '--firmware-to', 'FW-9', '--out', csvFile], storeEnv());
    const jsonl = await run(
      'export',
      ['--account', E2E_ACCOUNT, '--upgrade-id', 'campaign-two', '--format', 'jsonl'],
      storeEnv(),
    );
    const refused = await run('export', ['--account', E2E_ACCOUNT, '--from', 'yesterday'], storeEnv());

    // Assess
    expect(csv.code, csv.stderr).toBe(0);
    const text = await readFile(csvFile, 'utf8');
    expect(text.startsWith(`${UPGRADE_RECORD_FIELDS.join(',')}\r\n`)).toBe(true);
    expect(text).toContain('"Device said ""no"", then, later:\nretry"');
    const rows = parse(text, { columns: true }) as UpgradeRecord[];
    expect(rows).toHaveLength(devices.length);
    expect(rows.find((row) => row.deviceId === devices[0])?.reason).toBe(TRICKY_REASON);
    expect(new Set(rows.map((row) => row.deviceId))).toEqual(new Set(devices));
    expect(jsonl.code, jsonl.stderr).toBe(0);
    const lines = jsonl.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as UpgradeRecord);
    expect(lines.map((record) => record.deviceId).sort()).toEqual([...devices].sort());
    expect(lines.every((record) => record.id === 'campaign-two')).toBe(true);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/from must be a date/);
  });
});
