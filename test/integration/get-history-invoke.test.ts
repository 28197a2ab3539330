import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbHistoryStore } from '../../adapters/dynamodb/dynamodb-history-store';
import { ErrorCode } from '../../domain/failure';
import type { UpgradeRecord } from '../../domain/upgrade-record';
import { buildHistoryDependencies } from '../../functions/commons/history-dependencies';
import { makeHandler } from '../../functions/get-history-invoke';
import {
  DEMO_ACCOUNT,
  DEMO_DEVICE_WITH_FAILURE,
  seedDemoData,
  startThingSpaceSimulator,
  type ThingSpaceSimulator,
} from '../../local/thingspace-simulator';
import { useTestDynamoDb } from '../support/dynamodb';
import { handlerConfig } from '../support/handler-environment';
import { lambdaContext } from '../support/lambda';

const dynamo = useTestDynamoDb();
const device = { account: DEMO_ACCOUNT, deviceId: DEMO_DEVICE_WITH_FAILURE };

let simulator: ThingSpaceSimulator;
let store: DynamoDbHistoryStore;
let handler: (event: unknown, context: Context) => Promise<UpgradeRecord[]>;

beforeAll(async () => {
  simulator = await startThingSpaceSimulator();
  seedDemoData(simulator);
  const tableName = await dynamo.createTestTable();
  store = new DynamoDbHistoryStore({ client: dynamo.client, tableName });
  const dependencies = buildHistoryDependencies(
    handlerConfig({ tableName, dynamoDbEndpoint: dynamo.endpoint, thingspaceUrl: simulator.url }),
  );
  handler = makeHandler(() => dependencies) as unknown as typeof handler;
});

afterAll(async () => {
  await simulator.close();
});

beforeEach(() => {
  simulator.reset();
});

async function invocationError(event: unknown): Promise<Error> {
  const outcome = await handler(event, lambdaContext(60_000, 'get-history-invoke')).then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error('expected the invocation to fail');
  return outcome;
}

describe('get-history-invoke handler (direct invoke / Step Functions)', () => {
  it('returns the merged history, including an upgrade ThingSpace no longer shows, and archives it', async () => {
    // Prepare: archive today's answer, then ThingSpace's window drops the oldest upgrade.
    const live = simulator.liveHistory(DEMO_ACCOUNT, DEMO_DEVICE_WITH_FAILURE) ?? [];
    await handler({ ...device }, lambdaContext(60_000, 'get-history-invoke'));
    const oldest = [...live].sort((a, b) => a.startDate.localeCompare(b.startDate))[0] as UpgradeRecord;
    simulator.removeRecord(DEMO_ACCOUNT, DEMO_DEVICE_WITH_FAILURE, oldest.id);

    // Act
    const history = await handler({ ...device }, lambdaContext(60_000, 'get-history-invoke'));

    // Assess
    expect(Array.isArray(history)).toBe(true);
    expect(history).toHaveLength(live.length);
    expect(history).toEqual(expect.arrayContaining(live));
    expect(history.at(-1)).toEqual(oldest);
    expect((await store.listUpgrades(device)).map((upgrade) => upgrade.record)).toEqual(expect.arrayContaining(live));
    expect(simulator.historyCallsFor(DEMO_DEVICE_WITH_FAILURE)).toBe(2);
  });

  it.each([
    ['a bad IMEI', { account: DEMO_ACCOUNT, deviceId: '12ab' }],
    ['a missing account', { deviceId: DEMO_DEVICE_WITH_FAILURE }],
    ['no payload at all', null],
  ])(
    'refuses %s with an INVALID_PARAMETER error without file paths, asking ThingSpace nothing',
    async (_case, event) => {
      // Prepare
      const callsBefore = simulator.stats().requests;

      // Act
      const error = await invocationError(event);

      // Assess
      expect(error.name).toBe(ErrorCode.invalidParameter);
      expect(error).toMatchObject({ errorCode: ErrorCode.invalidParameter, statusCode: 400 });
      expect(error.message).toMatch(/Invalid (account name|device id) format/);
      expect(error.stack ?? '').not.toMatch(/\.ts|\.js|node_modules|\/work\//);
      expect(error.stack ?? '').not.toMatch(/\n\s+at /);
      expect(simulator.stats().requests).toBe(callsBefore);
    },
  );

  it("passes ThingSpace's own refusal through by its errorCode", async () => {
    // Prepare: an account the simulator does not know.
    const unknownAccount = { account: '0000000999-00001', deviceId: DEMO_DEVICE_WITH_FAILURE };

    // Act
    const error = await invocationError(unknownAccount);

    // Assess
    expect(error.name).toBe('UnifiedWebService.REQUEST_FAILED.AccountNotFound');
    expect(error.stack ?? '').not.toMatch(/\n\s+at /);
  });
});
