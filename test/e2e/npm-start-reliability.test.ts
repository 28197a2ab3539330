/**
 * Issue 8 items 7 and 8 (local server), black box: `npm start` as a child process, reached only over
 * HTTP or raw sockets. A burst of first requests on a just-started server all succeed; requests Node's
 * HTTP parser rejects still get ThingSpace's error shape; SIGTERM answers every request already sent.
 */
import { request as httpRequest, Agent } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { E2E_CREDENTIALS } from '../support/e2e-fixtures';
import { freePort, makeTempDir, startLocalServer, type LocalServerProcess } from '../support/local-server-process';

/** A synthetic account of the simulator: each device has three upgrades, none archived yet. */
const BURST_ACCOUNT = '0555000222-00001';
const BURST_SIZE = 100;

let simulator: ThingSpaceSimulator;
let fleet: { deviceIdAt(index: number): string };
const tempDirs: Array<{ remove(): Promise<void> }> = [];
const servers: LocalServerProcess[] = [];

beforeAll(async () => {
  simulator = await startThingSpaceSimulator({ credentials: E2E_CREDENTIALS });
  fleet = simulator.addSyntheticFleet(BURST_ACCOUNT, { size: 1_000, recordsPerDevice: 3 });
});

afterAll(async () => {
  for (const server of servers) await server.stop('SIGKILL').catch(() => undefined);
  await simulator?.close();
  for (const dir of tempDirs) await dir.remove();
});

async function startServer(): Promise<LocalServerProcess> {
  const dataDir = await makeTempDir();
  tempDirs.push(dataDir);
  const server = await startLocalServer({
    env: {
      PORT: String(await freePort()),
      THINGSPACE_BASE_URL: simulator.url,
      THINGSPACE_CREDENTIALS: JSON.stringify(E2E_CREDENTIALS),
      DATA_DIR: dataDir.path,
    },
  });
  servers.push(server);
  return server;
}

interface Answer {
  status: number;
  body: string;
}

/** One GET over its own connection (an agent without a socket cap), as many independent clients would. */
function get(url: string, agent: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { agent }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('npm start under a cold burst', () => {
  it(`answers ${BURST_SIZE} concurrent first requests on a just-started server, each for a new device, all 200 with its records`, async () => {
    // Prepare
    const server = await startServer();
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });

    // Act
    const devices = Array.from({ length: BURST_SIZE }, (_, index) => fleet.deviceIdAt(index));
    const answers = await Promise.all(devices.map((device) => get(`${server.url}/reports/${BURST_ACCOUNT}/devices/${device}`, agent)));

    // Assert
    const statuses = new Map<number, number>();
    for (const answer of answers) statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    expect(Object.fromEntries(statuses), answers.find((answer) => answer.status !== 200)?.body).toEqual({ 200: BURST_SIZE });
    for (const [index, answer] of answers.entries()) {
      const records = JSON.parse(answer.body) as Array<{ deviceId: string }>;
      expect(records).toHaveLength(3);
      expect(new Set(records.map((record) => record.deviceId))).toEqual(new Set([devices[index]]));
    }
    agent.destroy();
  });
});
