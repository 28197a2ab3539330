/**
 * Issue 3, black box: with THINGSPACE_BASE_URL unset, `npm start` runs the built-in ThingSpace
 * simulator with demo data, so the README's curl works on a fresh clone with no account.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEMO_ACCOUNT,
  DEMO_DEVICE_FROM_DOCS,
  DEMO_DEVICE_WITH_FAILURE,
  DEMO_DEVICE_WITHOUT_HISTORY,
} from '../../local/thingspace-simulator';
import { getHistory, ids } from '../support/e2e-fixtures';
import { freePort, type LocalServerProcess, makeTempDir, startLocalServer } from '../support/local-server-process';

let server: LocalServerProcess;
let dataDir: { path: string; remove(): Promise<void> };

beforeAll(async () => {
  dataDir = await makeTempDir();
  // No THINGSPACE_BASE_URL and no credentials: what a developer gets from a plain `npm start`.
  server = await startLocalServer({ env: { PORT: String(await freePort()), DATA_DIR: dataDir.path } });
});

afterAll(async () => {
  await server?.stop();
  await dataDir?.remove();
});

describe('npm start without THINGSPACE_BASE_URL', () => {
  it('says it uses the built-in simulator and prints a curl for the demo device', () => {
    // Assess
    expect(server.stdout()).toContain('built-in simulator');
    expect(server.stdout()).toContain(`curl ${server.url}/reports/${DEMO_ACCOUNT}/devices/${DEMO_DEVICE_WITH_FAILURE}`);
  });

  it('answers the demo device with its three upgrades, newest (the failed one) first', async () => {
    // Act
    const answer = await getHistory(server.url, DEMO_ACCOUNT, DEMO_DEVICE_WITH_FAILURE);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-history-stale')).toBeNull();
    expect(ids(answer.body)).toEqual([
      '0b1a6f5e-3c51-4e8e-9d7a-1f2c3d4e5f60',
      '6d7e8f90-1a2b-4c3d-8e4f-5a6b7c8d9e0f',
      'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
    ]);
    expect(answer.body).toMatchObject([
      { status: 'UpgradeFailed', deviceId: DEMO_DEVICE_WITH_FAILURE, accountName: DEMO_ACCOUNT },
      {},
      {},
    ]);
  });

  it('answers the documentation example device, and an empty history for a device without upgrades', async () => {
    // Act
    const documented = await getHistory(server.url, DEMO_ACCOUNT, DEMO_DEVICE_FROM_DOCS);
    const empty = await getHistory(server.url, DEMO_ACCOUNT, DEMO_DEVICE_WITHOUT_HISTORY);

    // Assess
    expect(documented.status).toBe(200);
    expect(ids(documented.body)).toEqual([
      'f574fbb8-b291-4cc7-bf22-4e3f27977558',
      '5edade25-c06c-4b13-ba2a-fbb9ada93579',
    ]);
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual([]);
  });
});
