/**
 * A local discovery pass over a synthetic 1,000,000-device account: `npm run bench -- discovery1m`
 * (or `npx tsx bench/discovery-1m.ts`; DISCOVERY_DEVICES to change the size). Discovery only: the real
 * ThingSpace client pages the simulator's device list (1,000 a page) over HTTP, the change-aware selection
 * batch-reads each page's sync states from dynalite (in memory), and the selected devices go to an
 * in-process sink that counts them; no device is synced. Everything runs in this one process (simulator,
 * dynalite, discovery), so the peak RSS is an upper bound for discovery alone.
 * Prints one JSON line: {"devices", "seconds", "peakRssMb", ...}.
 */
import { createDocumentClient } from '../adapters/dynamodb/client';
import { DynamoDbHistoryStore } from '../adapters/dynamodb/dynamodb-history-store';
import { createHistoryTable } from '../adapters/dynamodb/table-schema';
import { createThingSpaceClient } from '../adapters/thingspace/client';
import { startEmbeddedDynamoDb } from '../local/embedded-dynamodb';
import { DEMO_CREDENTIALS, startThingSpaceSimulator } from '../local/thingspace-simulator';
import { type DeviceSyncQueue, type DeviceSyncRequest, discoverFleet } from '../services/discover-fleet';

const ACCOUNT = '0000001000-00001';
const devices = Number(process.env.DISCOVERY_DEVICES ?? 1_000_000);
if (!Number.isInteger(devices) || devices < 1) throw new Error('DISCOVERY_DEVICES must be a positive whole number');

/** Counts what discovery hands over, keeping nothing: the sync queue's side is not measured here. */
class CountingSink implements DeviceSyncQueue {
  enqueued = 0;
  async enqueue(requests: readonly DeviceSyncRequest[]): Promise<void> {
    this.enqueued += requests.length;
  }
}

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);

const simulator = await startThingSpaceSimulator({ pageSize: 1000, credentials: DEMO_CREDENTIALS });
simulator.addSyntheticFleet(ACCOUNT, { size: devices, recordsPerDevice: 1 });
const dynamo = await startEmbeddedDynamoDb();
const client = createDocumentClient({ endpoint: dynamo.endpoint });
const tableName = 'fota-history-bench';
await createHistoryTable(client, tableName);
const store = new DynamoDbHistoryStore({ client, tableName });
const thingspace = createThingSpaceClient({ baseUrl: simulator.url, credentials: async () => DEMO_CREDENTIALS });
const sink = new CountingSink();
const rssBefore = process.memoryUsage().rss;

const started = process.hrtime.bigint();
let pages = 0;
const outcome = await discoverFleet(
  ACCOUNT,
  { thingspace, store, syncQueue: sink },
  {
    runId: 'bench',
    onPage: () => {
      pages += 1;
      if (pages % 100 === 0) process.stderr.write(`discovery1m: ${pages} pages\n`);
    },
  },
);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);

process.stdout.write(
  `${JSON.stringify({
    devices,
    state: outcome.state,
    pages,
    devicesListed: outcome.checkpoint?.devicesListed,
    devicesEnqueued: sink.enqueued,
    seconds: Number(seconds.toFixed(1)),
    devicesPerSecond: Math.round(devices / seconds),
    peakRssMb: Math.round(peakRss / 2 ** 20),
    rssBeforePassMb: Math.round(rssBefore / 2 ** 20),
    listCalls: simulator.stats().listCalls,
    node: process.version,
  })}\n`,
);
client.destroy();
await dynamo.close();
await simulator.close();
process.exit(outcome.state === 'done' ? 0 : 1);
