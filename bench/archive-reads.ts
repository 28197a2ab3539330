/**
 * Section 5b: the archive queries over 100,000 records of 10,000 devices in the embedded store (dynalite
 * in this process), through the services the Lambda handler calls, with the read units DynamoDB reports.
 */
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import pLimit from 'p-limit';
import { createDocumentClient } from '../adapters/dynamodb/client';
import { DynamoDbArchiveReader } from '../adapters/dynamodb/dynamodb-archive-reader';
import { upgradeToItem } from '../adapters/dynamodb/item-mapping';
import { createHistoryTable } from '../adapters/dynamodb/table-schema';
import { planArchiveQuery } from '../domain/archive-query';
import { ArchiveTokenSigner } from '../domain/archive-token';
import type { UpgradeRecord } from '../domain/upgrade-record';
import { startEmbeddedDynamoDb } from '../local/embedded-dynamodb';
import { getDeviceArchive, listArchivedUpgrades } from '../services/archive-queries';
import { countConsumedCapacity, type Tally } from './dynamodb-cost';
import { percentile, round } from './lib/stats';

const ACCOUNT = '0000000009-00001';
/** BENCH_ARCHIVE_DEVICES shrinks the data set for a quick look; the reported numbers use 10,000. */
const DEVICES = Number(process.env.BENCH_ARCHIVE_DEVICES ?? 10_000);
const CAMPAIGNS = 20;
/** Each device is in every other campaign: 10 upgrades per device, 5,000 devices per campaign. */
const UPGRADES_PER_DEVICE = 10;
const TABLE_NAME = 'fota-history-archive-bench';

export interface ArchiveReadRow {
  query: string;
  samples: number;
  p50Ms: number;
  p95Ms: number;
  recordsPerCall: number;
  readUnitsPerCall: number;
  queriesPerCall: number;
}

export interface ArchiveReadResults {
  records: number;
  devices: number;
  loadSeconds: number;
  rows: ArchiveReadRow[];
}

function deviceIdAt(index: number): string {
  return `35900000${String(index).padStart(7, '0')}`;
}

function recordsOf(device: number): UpgradeRecord[] {
  const records: UpgradeRecord[] = [];
  for (let campaign = device % 2; campaign < CAMPAIGNS; campaign += 2) {
    const month = String((campaign % 12) + 1).padStart(2, '0');
    const startDate = `${2024 + Math.floor(campaign / 12)}-${month}-15`;
    records.push({
      deviceId: deviceIdAt(device),
      id: `campaign-${String(campaign).padStart(2, '0')}`,
      accountName: ACCOUNT,
      firmwareFrom: `FW-${campaign}`,
      firmwareTo: `FW-${campaign + 1}`,
      startDate,
      upgradeStartTime: `${startDate}T08:00:00Z`,
      status: (device + campaign) % 7 === 0 ? 'UpgradeFailed' : 'UpgradeSuccess',
      reason: (device + campaign) % 7 === 0 ? 'Device did not respond' : 'success',
    });
  }
  return records;
}

export async function measureArchiveReads(log: (line: string) => void): Promise<ArchiveReadResults> {
  const dynamo = await startEmbeddedDynamoDb();
  const client = createDocumentClient({ endpoint: dynamo.endpoint, requestTimeoutMs: 30_000 });
  try {
    await createHistoryTable(client, TABLE_NAME);
    const loadStarted = Date.now();
    // Bulk load for the benchmark only (the service writes one conditional PutItem per record), in
    // chunks of devices so that only a few hundred items are in memory at once.
    log(`archive: loading ${DEVICES * UPGRADES_PER_DEVICE} records`);
    const chunks = Array.from({ length: DEVICES / 25 }, (_, chunk) => chunk);
    await pLimit(4).map(chunks, async (chunk) => {
      const items = [];
      for (let device = chunk * 25; device < (chunk + 1) * 25; device += 1) {
        for (const record of recordsOf(device)) {
          const observedAt = '2026-01-01T00:00:00.000Z';
          items.push(
            upgradeToItem(
              { account: ACCOUNT, deviceId: record.deviceId },
              {
                record,
                firstSeenAt: observedAt,
                observedAt,
                statusLog: [
                  {
                    observedAt,
                    status: record.status,
                    reason: record.reason,
                    upgradeStartTime: record.upgradeStartTime,
                    changedFields: [],
                  },
                ],
              },
            ),
          );
        }
      }
      for (let at = 0; at < items.length; at += 25) {
        let pending = items.slice(at, at + 25);
        while (pending.length > 0) {
          const result = await client.send(
            new BatchWriteCommand({
              RequestItems: { [TABLE_NAME]: pending.map((Item) => ({ PutRequest: { Item } })) },
            }),
          );
          pending = (result.UnprocessedItems?.[TABLE_NAME] ?? []).map((request) => request.PutRequest!.Item!);
        }
      }
    });
    const loadSeconds = (Date.now() - loadStarted) / 1000;
    log(`archive: loaded in ${loadSeconds.toFixed(1)} s`);

    const tally: Tally = { read: 0, write: 0, operations: {}, unreported: 0 };
    countConsumedCapacity(client, tally);
    const reader = new DynamoDbArchiveReader({ client, tableName: TABLE_NAME });
    const signer = new ArchiveTokenSigner(Buffer.from('bench-archive-token-key-0123456789'));
    const dependencies = { reader, tokenSigner: async () => signer };

    const measure = async (
      query: string,
      samples: number,
      call: (sample: number) => Promise<number>,
    ): Promise<ArchiveReadRow> => {
      const times: number[] = [];
      let records = 0;
      Object.assign(tally, { read: 0, write: 0, operations: {}, unreported: 0 });
      for (let sample = 0; sample < samples; sample += 1) {
        const started = performance.now();
        records += await call(sample);
        times.push(performance.now() - started);
      }
      const queries = Object.values(tally.operations).reduce((sum, count) => sum + count, 0);
      const row = {
        query,
        samples,
        p50Ms: round(percentile(times, 50)),
        p95Ms: round(percentile(times, 95)),
        recordsPerCall: round(records / samples, 1),
        readUnitsPerCall: round(tally.read / samples, 2),
        queriesPerCall: round(queries / samples, 1),
      };
      log(
        `archive ${query}: p50 ${row.p50Ms} ms, p95 ${row.p95Ms} ms, ${row.readUnitsPerCall} RCU, ${row.queriesPerCall} queries`,
      );
      return row;
    };

    const rows: ArchiveReadRow[] = [];
    rows.push(
      await measure('device view (10 upgrades)', 200, async (sample) => {
        const view = await getDeviceArchive(
          { account: ACCOUNT, deviceId: deviceIdAt((sample * 7919) % DEVICES) },
          dependencies,
        );
        return view.upgrades.length;
      }),
    );
    rows.push(
      await measure('firmwareTo, first page of 100 (5,000 match)', 50, async (sample) => {
        const page = await listArchivedUpgrades(
          { account: ACCOUNT, filters: { firmwareTo: `FW-${(sample % CAMPAIGNS) + 1}` }, limit: 100 },
          dependencies,
        );
        return page.upgrades.length;
      }),
    );
    // Paging one 5,000-device campaign to the end, 100 a page: each sample is one page.
    let token: string | undefined;
    let pages = 0;
    const campaignPages = await measure('upgradeId, paging a 5,000-device campaign, one page of 100', 150, async () => {
      const page = await listArchivedUpgrades(
        {
          account: ACCOUNT,
          filters: { upgradeId: `campaign-${String(pages % 3).padStart(2, '0')}` },
          limit: 100,
          ...(token ? { nextToken: token } : {}),
        },
        dependencies,
      );
      token = page.nextToken;
      if (!token) pages += 1;
      return page.upgrades.length;
    });
    rows.push(campaignPages);
    // The planner is pure; this only confirms which index each row above used.
    log(`archive: plans ${planArchiveQuery({ firmwareTo: 'x' }).index}, ${planArchiveQuery({ upgradeId: 'x' }).index}`);
    return { records: DEVICES * UPGRADES_PER_DEVICE, devices: DEVICES, loadSeconds: round(loadSeconds, 1), rows };
  } finally {
    client.destroy();
    await dynamo.close();
  }
}
