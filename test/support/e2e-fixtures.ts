/**
 * What the end-to-end tests share: the account and credentials of their simulator, upgrades, requests to
 * npm start, and the archive as stored.
 */
import { createDocumentClient } from '../../adapters/dynamodb/client';
import { DynamoDbHistoryStore } from '../../adapters/dynamodb/dynamodb-history-store';
import type { ThingSpaceCredentials } from '../../adapters/thingspace/credentials';
import type { ArchivedUpgrade } from '../../domain/archive-plan';
import type { UpgradeRecord } from '../../domain/upgrade-record';
import { startEmbeddedDynamoDb } from '../../local/embedded-dynamodb';

export const E2E_ACCOUNT = '0555000111-00001';

/** Credentials of the simulator a test starts; never the demo ones, so a leak is unambiguous. */
export const E2E_CREDENTIALS: ThingSpaceCredentials = {
  appKey: 'e2e-app-key-7f3a91',
  appSecret: 'e2e-app-secret-c5d208',
  username: 'e2e-uws-user-4be6',
  password: 'e2e-uws-password-9a1f',
};

let nextDevice = 0;

/** A distinct 15-digit IMEI for each call, so tests sharing one server never share a device. */
export function newDeviceId(prefix = '35'): string {
  nextDevice += 1;
  const unique = `${process.pid % 10_000}`.padStart(4, '0') + `${nextDevice}`.padStart(5, '0');
  return `${prefix}${unique}`.padEnd(15, '0').slice(0, 15);
}

/** The n-th upgrade of a device; later n = later start date. */
export function upgrade(deviceId: string, n: number, changes: Partial<UpgradeRecord> = {}): UpgradeRecord {
  const day = `2025-${String(1 + (n % 12)).padStart(2, '0')}-${String(1 + (n % 27)).padStart(2, '0')}`;
  return {
    deviceId,
    id: `${deviceId}-upgrade-${n}`,
    accountName: E2E_ACCOUNT,
    firmwareFrom: `FW-${n}`,
    firmwareTo: `FW-${n + 1}`,
    startDate: day,
    upgradeStartTime: `${day}T10:00:00Z`,
    status: 'UpgradeSuccess',
    reason: 'success',
    ...changes,
  };
}

export interface HistoryAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON body. */
  body: unknown;
}

export async function getHistory(baseUrl: string, account: string, deviceId: string): Promise<HistoryAnswer> {
  return getPath(baseUrl, `/reports/${account}/devices/${deviceId}`);
}

export async function getPath(baseUrl: string, path: string): Promise<HistoryAnswer> {
  const response = await fetch(`${baseUrl}${path}`);
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, headers: response.headers, body };
}

export function ids(body: unknown): string[] {
  return (body as UpgradeRecord[]).map((record) => record.id);
}

/**
 * What the DATA_DIR store holds for a device, read the way the service reads it. Only while no
 * server has DATA_DIR open (LevelDB allows one process).
 */
export async function readArchive(
  dataDir: string,
  tableName: string,
  account: string,
  deviceIds: string[],
): Promise<Map<string, ArchivedUpgrade[]>> {
  const embedded = await startEmbeddedDynamoDb({ dataDir });
  const client = createDocumentClient({ endpoint: embedded.endpoint, maxAttempts: 1 });
  try {
    const store = new DynamoDbHistoryStore({ client, tableName });
    const result = new Map<string, ArchivedUpgrade[]>();
    for (const deviceId of deviceIds) result.set(deviceId, await store.listUpgrades({ account, deviceId }));
    return result;
  } finally {
    client.destroy();
    await embedded.close();
  }
}
