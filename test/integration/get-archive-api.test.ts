import { Metrics } from '@aws-lambda-powertools/metrics';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbHistoryStore } from '../../adapters/dynamodb/dynamodb-history-store';
import { planArchiveWrites } from '../../domain/archive-plan';
import type { DeviceKey, UpgradeRecord } from '../../domain/upgrade-record';
import { buildArchiveDependencies } from '../../functions/commons/archive-dependencies';
import { parseServiceConfig } from '../../functions/commons/configuration';
import { makeHandler } from '../../functions/get-archive-api';
import { backfillArchiveIndexes } from '../../local/backfill';
import { apiGatewayProxyEvent } from '../../local/lambda-emulation';
import { useTestDynamoDb } from '../support/dynamodb';
import { lambdaContext } from '../support/lambda';
import { responseErrors } from '../support/openapi';
import { nextDeviceId, upgradeRecord } from '../support/records';

type Handler = typeof import('../../functions/get-archive-api')['handler'];

const db = useTestDynamoDb();
let handler: Handler;
let store: DynamoDbHistoryStore;
let tableName: string;

const ACCOUNT = '0242078689-00009';
const OTHER_ACCOUNT = '0242078689-00010';
const DEVICE_ROUTE = '/archive/{account}/devices/{deviceId}';
const UPGRADES_ROUTE = '/archive/{account}/upgrades';

beforeAll(async () => {
  tableName = await db.createTestTable();
  const dependencies = buildArchiveDependencies(
    parseServiceConfig({
      TABLE_NAME: tableName,
      DYNAMODB_ENDPOINT: db.endpoint,
      ARCHIVE_TOKEN_KEY: 'integration-test-key-0123456789abcdef',
    }),
  );
  handler = makeHandler(() => dependencies);
  store = new DynamoDbHistoryStore({ client: db.client, tableName });
});

/** Archives what ThingSpace showed for a device at `observedAt`, through the store's own write path. */
async function observe(device: DeviceKey, records: UpgradeRecord[], observedAt: string): Promise<void> {
  await store.applyWrites(device, planArchiveWrites(records, await store.listUpgrades(device), observedAt));
}

async function call(
  resource: string,
  pathParameters: Record<string, string>,
  query: Record<string, string | string[]> = {},
): Promise<{ result: APIGatewayProxyResult; body: any }> {
  const searchParams = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) for (const one of [value].flat()) searchParams.append(name, one);
  const path = resource.replace(/\{(\w+)\}/g, (_, name: string) => pathParameters[name] ?? '');
  const result = await handler(
    apiGatewayProxyEvent({ method: 'GET', resource, path, pathParameters, searchParams }),
    lambdaContext(),
  );
  const body = JSON.parse(result.body);
  // Every answer, success or error, must be what the OpenAPI document says.
  expect(responseErrors(resource, 'GET', result.statusCode, body)).toEqual([]);
  return { result, body };
}

async function allPages(
  account: string,
  filters: Record<string, string>,
  limits: number[] = [1000],
): Promise<{ records: UpgradeRecord[]; pages: number }> {
  const records: UpgradeRecord[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const limit = limits[pages % limits.length]!;
    const { result, body } = await call(
      UPGRADES_ROUTE,
      { account },
      { ...filters, limit: String(limit), ...(token ? { nextToken: token } : {}) },
    );
    expect(result.statusCode).toBe(200);
    expect(body.upgrades.length).toBeLessThanOrEqual(limit);
    records.push(...body.upgrades);
    token = body.nextToken;
    pages += 1;
  } while (token);
  return { records, pages };
}

const newestFirst = (a: UpgradeRecord, b: UpgradeRecord): number => {
  const key = (r: UpgradeRecord) => `${r.startDate}#${r.deviceId}#${r.id}`;
  return key(a) < key(b) ? 1 : key(a) > key(b) ? -1 : 0;
};
const ids = (records: UpgradeRecord[]): string[] => records.map((record) => `${record.deviceId}/${record.id}`);

/**
 * A small fleet: 3 campaigns over 24 devices in two accounts (the same campaign ids in both), with
 * firmware, statuses and dates varied so that every filter selects a different subset.
 */
const fleet: UpgradeRecord[] = [];
const otherFleet: UpgradeRecord[] = [];
describe('the archive API over dynalite', () => {
  beforeAll(async () => {
    const campaigns = [
      { id: 'campaign-a', firmwareFrom: 'FW-1', firmwareTo: 'FW-2', startDate: '2025-03-10' },
      { id: 'campaign-b', firmwareFrom: 'FW-2', firmwareTo: 'FW-3', startDate: '2025-06-20' },
      { id: 'campaign-c', firmwareFrom: 'FW-1', firmwareTo: 'FW-3', startDate: '2026-01-05' },
    ];
    const statuses = ['UpgradeSuccess', 'UpgradeFailed', 'InProgress'];
    for (let index = 0; index < 24; index += 1) {
      const account = index < 18 ? ACCOUNT : OTHER_ACCOUNT;
      const deviceId = nextDeviceId();
      const records = campaigns
        .filter((_, c) => (index + c) % 4 !== 0)
        .map((campaign, c) =>
          upgradeRecord({
            ...campaign,
            deviceId,
            accountName: account,
            upgradeStartTime: `${campaign.startDate}T0${c}:00:00Z`,
            status: statuses[(index + c) % 3]!,
            reason: index % 5 === 0 ? 'reason, with "quotes"\nand a newline' : 'ok',
          }),
        );
      await observe({ account, deviceId }, records, '2026-02-01T00:00:00.000Z');
      (account === ACCOUNT ? fleet : otherFleet).push(...records);
    }
  });

  const expected = (filter: (record: UpgradeRecord) => boolean) => fleet.filter(filter).sort(newestFirst);

  it.each<[string, Record<string, string>, (record: UpgradeRecord) => boolean]>([
    ['no filter', {}, () => true],
    ['upgradeId', { upgradeId: 'campaign-b' }, (r) => r.id === 'campaign-b'],
    ['firmwareTo', { firmwareTo: 'FW-3' }, (r) => r.firmwareTo === 'FW-3'],
    ['firmwareFrom', { firmwareFrom: 'FW-1' }, (r) => r.firmwareFrom === 'FW-1'],
    ['status', { status: 'UpgradeFailed' }, (r) => r.status === 'UpgradeFailed'],
    ['from', { from: '2025-06-20' }, (r) => r.startDate >= '2025-06-20'],
    ['to', { to: '2025-06-20' }, (r) => r.startDate <= '2025-06-20'],
    [
      'from and to',
      { from: '2025-04-01', to: '2025-12-31' },
      (r) => r.startDate >= '2025-04-01' && r.startDate <= '2025-12-31',
    ],
    [
      'firmwareTo and status',
      { firmwareTo: 'FW-3', status: 'UpgradeSuccess' },
      (r) => r.firmwareTo === 'FW-3' && r.status === 'UpgradeSuccess',
    ],
    [
      'upgradeId, status and from',
      { upgradeId: 'campaign-c', status: 'InProgress', from: '2026-01-01' },
      (r) => r.id === 'campaign-c' && r.status === 'InProgress',
    ],
    ['firmwareFrom and firmwareTo and to', { firmwareFrom: 'FW-1', firmwareTo: 'FW-3', to: '2025-12-31' }, () => false],
    [
      'status and a date range',
      { status: 'UpgradeSuccess', from: '2025-01-01', to: '2025-12-31' },
      (r) => r.status === 'UpgradeSuccess' && r.startDate <= '2025-12-31',
    ],
  ])(
    'answers %s with exactly the matching records of the account, newest first, across pages',
    async (_name, filters, matches) => {
      // Act
      const whole = await allPages(ACCOUNT, filters);
      const paged = await allPages(ACCOUNT, filters, [2, 5, 1]);

      // Assess
      expect(ids(whole.records)).toEqual(ids(expected(matches)));
      expect(paged.records).toEqual(whole.records);
    },
  );

  it('answers a deviceId filter from the device alone, combined with the others', async () => {
    // Prepare
    const device = fleet[0]!.deviceId;

    // Act
    const all = await allPages(ACCOUNT, { deviceId: device }, [1]);
    const failed = await allPages(ACCOUNT, { deviceId: device, status: fleet[0]!.status });

    // Assess
    expect(ids(all.records)).toEqual(ids(expected((r) => r.deviceId === device)));
    expect(ids(failed.records)).toEqual(ids(expected((r) => r.deviceId === device && r.status === fleet[0]!.status)));
  });

  it("never shows another account's records, even for the same campaign", async () => {
    // Act
    const mine = await allPages(ACCOUNT, { upgradeId: 'campaign-a' });
    const theirs = await allPages(OTHER_ACCOUNT, { upgradeId: 'campaign-a' });
    const foreignDevice = await allPages(ACCOUNT, { deviceId: otherFleet[0]!.deviceId });

    // Assess
    expect(mine.records.every((record) => record.accountName === ACCOUNT)).toBe(true);
    expect(ids(theirs.records)).toEqual(ids(otherFleet.filter((r) => r.id === 'campaign-a').sort(newestFirst)));
    expect(foreignDevice.records).toEqual([]);
  });

  it('pages to the end with tiny pages while the sync changes statuses and adds upgrades: every record that matched throughout comes exactly once', async () => {
    // Prepare: a campaign of its own, so the writes below change only it
    const campaign = { id: 'campaign-live', firmwareFrom: 'FW-7', firmwareTo: 'FW-8', startDate: '2025-09-09' };
    const devices = Array.from({ length: 12 }, () => nextDeviceId());
    const initial = devices.map((deviceId) =>
      upgradeRecord({ ...campaign, deviceId, accountName: ACCOUNT, status: 'UpgradeFailed' }),
    );
    for (const record of initial)
      await observe({ account: ACCOUNT, deviceId: record.deviceId }, [record], '2026-02-02T00:00:00.000Z');

    // Act: page by status and unfiltered while devices turn from failed to success and new upgrades arrive
    const seenFailed: UpgradeRecord[] = [];
    const seenAll: UpgradeRecord[] = [];
    let failedToken: string | undefined;
    let allToken: string | undefined;
    let step = 0;
    const below: UpgradeRecord[] = [];
    let failedDone = false;
    let allDone = false;
    do {
      if (!failedDone) {
        const failedPage = await call(
          UPGRADES_ROUTE,
          { account: ACCOUNT },
          {
            upgradeId: campaign.id,
            status: 'UpgradeFailed',
            limit: '3',
            ...(failedToken ? { nextToken: failedToken } : {}),
          },
        );
        seenFailed.push(...failedPage.body.upgrades);
        failedToken = failedPage.body.nextToken;
        failedDone = !failedToken;
      }
      if (!allDone) {
        const allPage = await call(
          UPGRADES_ROUTE,
          { account: ACCOUNT },
          { upgradeId: campaign.id, limit: '3', ...(allToken ? { nextToken: allToken } : {}) },
        );
        seenAll.push(...allPage.body.upgrades);
        allToken = allPage.body.nextToken;
        allDone = !allToken;
      }
      // One device turns to success, one new upgrade of another device appears (at the top, then at the bottom)
      const changed = initial[step % initial.length]!;
      await observe(
        { account: ACCOUNT, deviceId: changed.deviceId },
        [{ ...changed, status: 'UpgradeSuccess', reason: 'success' }],
        `2026-02-03T00:00:0${step % 10}.000Z`,
      );
      if (step < 4) {
        // Scheduled a day later (above every cursor: not required) or a day earlier (below: must come)
        const newcomer = upgradeRecord({
          ...campaign,
          deviceId: nextDeviceId(),
          accountName: ACCOUNT,
          startDate: step % 2 ? '2025-09-10' : '2025-09-08',
          status: 'UpgradeFailed',
        });
        await observe({ account: ACCOUNT, deviceId: newcomer.deviceId }, [newcomer], '2026-02-03T00:00:00.000Z');
        if (newcomer.startDate < campaign.startDate) below.push(newcomer);
      }
      step += 1;
    } while (!failedDone || !allDone);

    // Assess: nothing twice; every record that existed before paging and never changed its match is there
    expect(new Set(ids(seenFailed)).size).toBe(seenFailed.length);
    expect(new Set(ids(seenAll)).size).toBe(seenAll.length);
    expect(ids(seenAll)).toEqual(expect.arrayContaining(ids([...initial, ...below])));
    expect(ids(seenFailed)).toEqual(expect.arrayContaining(ids(below)));
    const changedCount = Math.min(step, initial.length);
    const neverChanged = initial.slice(changedCount);
    expect(ids(seenFailed)).toEqual(expect.arrayContaining(ids(neverChanged)));
    expect(seenFailed.every((record) => record.status === 'UpgradeFailed')).toBe(true);
  });

  describe('refuses', () => {
    it.each<[string, Record<string, string | string[]>]>([
      ['an unknown parameter', { firmware: 'FW-2' }],
      ['a parameter given twice', { status: ['UpgradeSuccess', 'UpgradeFailed'] }],
      ['limit 0', { limit: '0' }],
      ['limit 1001', { limit: '1001' }],
      ['a limit that is not a number', { limit: '10abc' }],
      ['a from that is not a date', { from: '2025-13-01' }],
      ['a to in another format', { to: '05/01/2025' }],
      ['from after to', { from: '2025-06-02', to: '2025-06-01' }],
      ['a deviceId that is not an IMEI', { deviceId: '12345' }],
      ['an empty filter', { status: '' }],
      ['a token made up', { nextToken: 'abc' }],
    ])('%s with 400 INVALID_PARAMETER', async (_name, query) => {
      // Act
      const { result, body } = await call(UPGRADES_ROUTE, { account: ACCOUNT }, query);

      // Assess
      expect(result.statusCode).toBe(400);
      expect(body.errorCode).toBe('INVALID_PARAMETER');
    });

    it('a bad account, a bad device, and any query parameter on the device route', async () => {
      // Act
      const answers = await Promise.all([
        call(UPGRADES_ROUTE, { account: 'abc' }),
        call(DEVICE_ROUTE, { account: ACCOUNT, deviceId: '12' }),
        call(DEVICE_ROUTE, { account: '0242078689-00001x', deviceId: fleet[0]!.deviceId }),
        call(DEVICE_ROUTE, { account: ACCOUNT, deviceId: fleet[0]!.deviceId }, { limit: '1' }),
      ]);

      // Assess
      for (const { result, body } of answers) {
        expect(result.statusCode).toBe(400);
        expect(body.errorCode).toBe('INVALID_PARAMETER');
      }
    });

    it('a token that was altered, or issued for another account or other filters', async () => {
      // Prepare
      const { body } = await call(UPGRADES_ROUTE, { account: ACCOUNT }, { firmwareTo: 'FW-3', limit: '1' });
      const token = body.nextToken as string;
      const [payload, mac] = token.split('.') as [string, string];
      const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const moved = `${Buffer.from(JSON.stringify({ ...decoded, p: '0000' })).toString('base64url')}.${mac}`;
      const flipped = `${payload}.${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`;

      // Act
      const answers = await Promise.all([
        call(UPGRADES_ROUTE, { account: ACCOUNT }, { firmwareTo: 'FW-3', nextToken: moved }),
        call(UPGRADES_ROUTE, { account: ACCOUNT }, { firmwareTo: 'FW-3', nextToken: flipped }),
        call(UPGRADES_ROUTE, { account: ACCOUNT }, { firmwareTo: 'FW-3', nextToken: `${token}x` }),
        call(UPGRADES_ROUTE, { account: OTHER_ACCOUNT }, { firmwareTo: 'FW-3', nextToken: token }),
        call(UPGRADES_ROUTE, { account: ACCOUNT }, { firmwareTo: 'FW-2', nextToken: token }),
        call(UPGRADES_ROUTE, { account: ACCOUNT }, { nextToken: token }),
      ]);
      const accepted = await call(
        UPGRADES_ROUTE,
        { account: ACCOUNT },
        { firmwareTo: 'FW-3', limit: '7', nextToken: token },
      );

      // Assess
      for (const { result, body: error } of answers) {
        expect(result.statusCode).toBe(400);
        expect(error.errorCode).toBe('INVALID_PARAMETER');
        expect(error.errorMessage).not.toContain(token);
      }
      expect(accepted.result.statusCode).toBe(200);
    });
  });

  describe('GET /archive/{account}/devices/{deviceId}', () => {
    it('answers an unknown device with no upgrades and no sync', async () => {
      // Act
      const { result, body } = await call(DEVICE_ROUTE, { account: ACCOUNT, deviceId: nextDeviceId() });

      // Assess
      expect(result.statusCode).toBe(200);
      expect(body).toMatchObject({ accountName: ACCOUNT, upgrades: [], lastSync: null });
    });

    it('shows the change log after a status change, the first sighting first, and the last sync', async () => {
      // Prepare
      const deviceId = nextDeviceId();
      const device = { account: ACCOUNT, deviceId };
      const older = upgradeRecord({ deviceId, id: 'u-old', accountName: ACCOUNT, startDate: '2025-01-01' });
      const failed = upgradeRecord({
        deviceId,
        id: 'u-new',
        accountName: ACCOUNT,
        startDate: '2025-05-12',
        status: 'UpgradeFailed',
        reason: 'Device did not respond',
      });
      await observe(device, [older, failed], '2026-01-01T00:00:00.000Z');
      await observe(
        device,
        [older, { ...failed, status: 'UpgradeSuccess', reason: 'success' }],
        '2026-01-02T00:00:00.000Z',
      );
      await store.recordSyncOutcome(device, {
        syncedAt: '2026-01-02T00:00:01.000Z',
        outcome: 'success',
        upgradesSeen: 2,
      });

      // Act
      const { result, body } = await call(DEVICE_ROUTE, { account: ACCOUNT, deviceId });

      // Assess
      expect(result.statusCode).toBe(200);
      expect(body.lastSync).toEqual({ syncedAt: '2026-01-02T00:00:01.000Z', outcome: 'success' });
      expect(body.upgrades.map((upgrade: UpgradeRecord) => upgrade.id)).toEqual(['u-new', 'u-old']);
      expect(body.upgrades[0]).toMatchObject({
        status: 'UpgradeSuccess',
        firstSeenAt: '2026-01-01T00:00:00.000Z',
        changedAt: '2026-01-02T00:00:00.000Z',
        statusLog: [
          {
            observedAt: '2026-01-01T00:00:00.000Z',
            status: 'UpgradeFailed',
            reason: 'Device did not respond',
            upgradeStartTime: failed.upgradeStartTime,
          },
          {
            observedAt: '2026-01-02T00:00:00.000Z',
            status: 'UpgradeSuccess',
            reason: 'success',
            upgradeStartTime: failed.upgradeStartTime,
          },
        ],
      });
      expect(body.upgrades[1]).toMatchObject({
        firstSeenAt: '2026-01-01T00:00:00.000Z',
        changedAt: '2026-01-01T00:00:00.000Z',
      });
      expect(body.upgrades[1].statusLog).toHaveLength(1);
    });

    it("merges log entries moved to items of their own with the item's, once each, oldest first", async () => {
      // Prepare: an upgrade whose older log entries were moved out (one of them is still on the item too)
      const deviceId = nextDeviceId();
      const device = { account: ACCOUNT, deviceId };
      const record = upgradeRecord({ deviceId, id: 'u#long', accountName: ACCOUNT, status: 'InProgress' });
      await observe(device, [record], '2026-01-03T00:00:00.000Z');
      await store.recordSyncOutcome(device, {
        syncedAt: '2026-01-03T00:00:01.000Z',
        outcome: 'failure',
        errorCode: 'UPSTREAM_TIMEOUT',
      });
      const pk = `DEVICE#${ACCOUNT}#${deviceId}`;
      for (const [observedAt, status] of [
        ['2025-12-01T00:00:00.000Z', 'Queued'],
        ['2025-12-02T00:00:00.000Z', 'RequestPending'],
        ['2026-01-03T00:00:00.000Z', 'InProgress'],
      ] as const) {
        await db.client.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              pk,
              sk: `LOG#u#long#${observedAt}`,
              type: 'status-log',
              observedAt,
              status,
              reason: '',
              upgradeStartTime: '',
              changedFields: ['status'],
            },
          }),
        );
      }

      // Act
      const { body } = await call(DEVICE_ROUTE, { account: ACCOUNT, deviceId });

      // Assess
      expect(body.lastSync).toEqual({
        syncedAt: '2026-01-03T00:00:01.000Z',
        outcome: 'failure',
        errorCode: 'UPSTREAM_TIMEOUT',
      });
      expect(body.upgrades).toHaveLength(1);
      expect(
        body.upgrades[0].statusLog.map(
          (entry: { observedAt: string; status: string }) => `${entry.observedAt} ${entry.status}`,
        ),
      ).toEqual([
        '2025-12-01T00:00:00.000Z Queued',
        '2025-12-02T00:00:00.000Z RequestPending',
        '2026-01-03T00:00:00.000Z InProgress',
      ]);
    });
  });

  it('finds upgrades archived before the indexes existed once npm run backfill has run, and backfills nothing twice', async () => {
    // Prepare: an item as an earlier version wrote it, without the index attributes
    const deviceId = nextDeviceId();
    const record = upgradeRecord({ deviceId, id: 'campaign-legacy', accountName: ACCOUNT, startDate: '2024-02-02' });
    await db.client.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          pk: `DEVICE#${ACCOUNT}#${deviceId}`,
          sk: 'UPGRADE#campaign-legacy',
          type: 'upgrade',
          ...record,
          firstSeenAt: '2024-02-03T00:00:00.000Z',
          observedAt: '2024-02-03T00:00:00.000Z',
          statusLog: [],
        },
      }),
    );
    const before = await allPages(ACCOUNT, { upgradeId: 'campaign-legacy' });

    // Act
    const updated = await backfillArchiveIndexes(db.client, tableName);
    const again = await backfillArchiveIndexes(db.client, tableName);
    const after = await allPages(ACCOUNT, { upgradeId: 'campaign-legacy' });

    // Assess
    expect(before.records).toEqual([]);
    expect(updated).toBe(1);
    expect(again).toBe(0);
    expect(after.records).toEqual([record]);
  });
});

describe('the archive API metrics', () => {
  it('counts each query, its latency and the records it returned, per route', async () => {
    // Prepare
    const device = { account: ACCOUNT, deviceId: nextDeviceId() };
    await observe(
      device,
      [
        upgradeRecord({
          deviceId: device.deviceId,
          id: 'metrics-upgrade-1',
          accountName: ACCOUNT,
          firmwareTo: 'FW-METRICS',
        }),
      ],
      '2026-02-01T00:00:00.000Z',
    );
    const dimensions = vi.spyOn(Metrics.prototype, 'addDimension');
    const added = vi.spyOn(Metrics.prototype, 'addMetric');

    // Act
    try {
      await call(DEVICE_ROUTE, { account: ACCOUNT, deviceId: device.deviceId });
      await call(UPGRADES_ROUTE, { account: ACCOUNT }, { firmwareTo: 'FW-METRICS' });
    } finally {
      vi.restoreAllMocks();
    }

    // Assess
    expect(dimensions.mock.calls).toEqual([
      ['route', 'device'],
      ['route', 'upgrades'],
    ]);
    const byName = (name: string) => added.mock.calls.filter(([metric]) => metric === name).map(([, , value]) => value);
    expect(byName('ArchiveQueries')).toEqual([1, 1]);
    expect(byName('ArchiveRecordsReturned')).toEqual([1, 1]);
    for (const latency of byName('ArchiveQueryLatency')) expect(latency).toBeGreaterThanOrEqual(0);
    expect(byName('ArchiveQueryLatency')).toHaveLength(2);
  });
});
