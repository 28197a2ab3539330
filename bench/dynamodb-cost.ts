/** Section 4: read and write request units of one API request, through the service's own store and client. */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../adapters/dynamodb/client';
import { DynamoDbHistoryStore } from '../adapters/dynamodb/dynamodb-history-store';
import { createHistoryTable } from '../adapters/dynamodb/table-schema';
import { createThingSpaceClient } from '../adapters/thingspace/client';
import type { UpgradeRecord } from '../domain/upgrade-record';
import { startEmbeddedDynamoDb } from '../local/embedded-dynamodb';
import { DEMO_CREDENTIALS, startThingSpaceSimulator } from '../local/thingspace-simulator';
import { getDeviceHistory } from '../services/get-device-history';

export interface CostRow {
  scenario: string;
  readUnits: number;
  writeUnits: number;
  /** Operations by command name, e.g. { QueryCommand: 1, PutCommand: 10 }. */
  operations: Record<string, number>;
  /** Operations that did not report consumed capacity (counted by DynamoDB's size rules instead). */
  unreported: number;
  archive: { inserted: number; updated: number; unchanged: number } | undefined;
}

export interface DynamoDbCostResults {
  recordsPerDevice: number;
  capacitySource: string;
  rows: CostRow[];
}

const ACCOUNT = '0000000002-00001';
const DEVICE_ID = '351756051523999';
const RECORDS = 10;
const TABLE_NAME = 'fota-history-cost';

export interface Tally {
  read: number;
  write: number;
  operations: Record<string, number>;
  unreported: number;
}

interface Capacity {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

const WRITES = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
]);

/**
 * Asks DynamoDB (here dynalite, which computes units by DynamoDB's item-size rules) to return the
 * capacity every call consumed, and adds it up. The document client shares its base client's
 * middleware stack, so this sees the low-level commands the store's document commands become.
 */
export function countConsumedCapacity(client: DynamoDBDocumentClient, tally: Tally): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      input.ReturnConsumedCapacity = 'TOTAL';
      const command = String(context.commandName);
      tally.operations[command] = (tally.operations[command] ?? 0) + 1;
      const add = (capacity: Capacity | undefined) => {
        if (!capacity) {
          tally.unreported += 1;
          return;
        }
        const units = capacity.CapacityUnits ?? (capacity.ReadCapacityUnits ?? 0) + (capacity.WriteCapacityUnits ?? 0);
        if (WRITES.has(command)) tally.write += units;
        else tally.read += units;
      };
      try {
        const result = await next(args);
        add((result.output as { ConsumedCapacity?: Capacity }).ConsumedCapacity);
        return result;
      } catch (error) {
        // A failed conditional write is still billed; DynamoDB reports it on the error when asked.
        add((error as { ConsumedCapacity?: Capacity }).ConsumedCapacity);
        throw error;
      }
    },
    { step: 'initialize', name: 'benchConsumedCapacity', priority: 'low' },
  );
}

function records(): UpgradeRecord[] {
  return Array.from({ length: RECORDS }, (_, index) => ({
    deviceId: DEVICE_ID,
    id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
    accountName: ACCOUNT,
    firmwareFrom: `VerizonFirmwareVersion-${String(index).padStart(2, '0')}`,
    firmwareTo: `VerizonFirmwareVersion-${String(index + 1).padStart(2, '0')}`,
    startDate: `2025-${String((index % 12) + 1).padStart(2, '0')}-10`,
    upgradeStartTime: `2025-${String((index % 12) + 1).padStart(2, '0')}-10T08:00:00Z`,
    status: 'UpgradeSuccess',
    reason: 'success',
  }));
}

export async function measureDynamoDbCost(log: (line: string) => void): Promise<DynamoDbCostResults> {
  const dynamo = await startEmbeddedDynamoDb();
  const simulator = await startThingSpaceSimulator({ credentials: DEMO_CREDENTIALS });
  const client = createDocumentClient({ endpoint: dynamo.endpoint });
  try {
    await createHistoryTable(client, TABLE_NAME);
    const tally: Tally = { read: 0, write: 0, operations: {}, unreported: 0 };
    countConsumedCapacity(client, tally);
    const dependencies = {
      thingspace: createThingSpaceClient({ baseUrl: simulator.url, credentials: async () => DEMO_CREDENTIALS }),
      store: new DynamoDbHistoryStore({ client, tableName: TABLE_NAME }),
    };
    const device = { account: ACCOUNT, deviceId: DEVICE_ID };
    simulator.setHistory(ACCOUNT, DEVICE_ID, records());

    const rows: CostRow[] = [];
    const measure = async (scenario: string) => {
      Object.assign(tally, { read: 0, write: 0, operations: {}, unreported: 0 });
      const history = await getDeviceHistory(device, dependencies);
      rows.push({
        scenario,
        readUnits: tally.read,
        writeUnits: tally.write,
        operations: { ...tally.operations },
        unreported: tally.unreported,
        archive: history.archive,
      });
      log(`dynamodb ${scenario}: ${tally.read} RCU, ${tally.write} WCU`);
    };
    await measure(`first sight of a device with ${RECORDS} upgrades`);
    await measure('re-read, nothing changed');
    simulator.updateRecord(ACCOUNT, DEVICE_ID, records()[0]!.id, {
      status: 'UpgradeFailed',
      reason: 'Device did not respond',
    });
    await measure('re-read, one status changed');
    return {
      recordsPerDevice: RECORDS,
      capacitySource: rows.some((row) => row.unreported > 0)
        ? 'some operations reported no ConsumedCapacity'
        : "ConsumedCapacity (ReturnConsumedCapacity: TOTAL) as reported by dynalite, which applies DynamoDB's item-size rules",
      rows,
    };
  } finally {
    client.destroy();
    await simulator.close();
    await dynamo.close();
  }
}
