import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbHistoryStore } from '../../adapters/dynamodb/dynamodb-history-store';
import { buildHistoryDependencies } from '../../functions/commons/history-dependencies';
import { makeHandler } from '../../functions/discover-fleet';
import { startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { useTestDynamoDb } from '../support/dynamodb';
import { handlerConfig } from '../support/handler-environment';
import { lambdaContext, queueUrlOf, sqsEvent, sqsRecord } from '../support/lambda';
import { allAccepted } from '../support/sqs';

const SYNC_QUEUE_URL = queueUrlOf('fota-sync-queue');
const DISCOVERY_QUEUE = 'fota-discovery-queue';
const DISCOVERY_QUEUE_URL = queueUrlOf(DISCOVERY_QUEUE);
const DISCOVERY_DLQ_URL = queueUrlOf('fota-discovery-dlq');
const FLEET_SIZE = 45;
const PAGE_SIZE = 20;
/** The discovery function's timeout (10 minutes); it pauses when a minute is left. */
const FULL_BUDGET_MS = 600_000;

const dynamo = useTestDynamoDb();
const sqs = mockClient(SQSClient);

let simulator: ThingSpaceSimulator;
let store: DynamoDbHistoryStore;
let handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
/** Each test walks its own account, so checkpoints never carry over between tests. */
let accountNumber = 0;

beforeAll(async () => {
  simulator = await startThingSpaceSimulator({ pageSize: PAGE_SIZE });
  const tableName = await dynamo.createTestTable();
  store = new DynamoDbHistoryStore({ client: dynamo.client, tableName });
  const config = handlerConfig(
    { tableName, dynamoDbEndpoint: dynamo.endpoint, thingspaceUrl: simulator.url },
    { SYNC_QUEUE_URL, DISCOVERY_QUEUE_URL, DISCOVERY_DLQ_URL },
  );
  const dependencies = {
    history: buildHistoryDependencies(config),
    sqs: new SQSClient({}),
    queues: config.queues,
    fullResyncDays: config.fullResyncDays,
  };
  handler = makeHandler(() => dependencies);
});

afterAll(async () => {
  sqs.restore();
  await simulator.close();
});

beforeEach(() => {
  sqs.reset();
  simulator.reset();
});

function newFleet(): { account: string; deviceIds: string[] } {
  accountNumber += 1;
  const account = `00000001${String(accountNumber).padStart(2, '0')}-00001`;
  const fleet = simulator.addSyntheticFleet(account, {
    size: FLEET_SIZE,
    recordsPerDevice: 1,
    firstImeiBody: 35_000_000_000_000 + accountNumber * 1000,
  });
  return { account, deviceIds: Array.from({ length: FLEET_SIZE }, (_, index) => fleet.deviceIdAt(index)) };
}

function batchesSentTo(queueUrl: string): SendMessageBatchCommandInput[] {
  return sqs
    .commandCalls(SendMessageBatchCommand)
    .map((call) => call.args[0].input)
    .filter((input) => input.QueueUrl === queueUrl);
}

function byDeviceId(a: unknown, b: unknown): number {
  return String((a as { deviceId: string }).deviceId).localeCompare(String((b as { deviceId: string }).deviceId));
}

/** The device key of a sync message (which also carries the device-list entry it was selected on). */
function keyOf(body: unknown): { account: string; deviceId: string } {
  const { account, deviceId } = body as { account: string; deviceId: string };
  return { account, deviceId };
}

function bodiesSentTo(queueUrl: string): unknown[] {
  return batchesSentTo(queueUrl).flatMap((input) =>
    (input.Entries ?? []).map((entry) => JSON.parse(entry.MessageBody ?? 'null')),
  );
}

describe('discover-fleet handler with the simulator and dynalite', () => {
  it('sends every device of the fleet to the sync queue in batches of at most 10', async () => {
    // Prepare
    const { account, deviceIds } = newFleet();
    sqs.on(SendMessageBatchCommand).callsFake(allAccepted);
    const record = sqsRecord(JSON.stringify({ account }), { queueName: DISCOVERY_QUEUE });

    // Act
    const response = await handler(sqsEvent([record]), lambdaContext(FULL_BUDGET_MS, 'discover-fleet'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const batches = batchesSentTo(SYNC_QUEUE_URL);
    expect(batches.every((batch) => (batch.Entries ?? []).length <= 10)).toBe(true);
    expect(batches).toHaveLength(Math.ceil(PAGE_SIZE / 10) * 2 + Math.ceil((FLEET_SIZE - 2 * PAGE_SIZE) / 10));
    expect(bodiesSentTo(SYNC_QUEUE_URL).map(keyOf)).toEqual(deviceIds.map((deviceId) => ({ account, deviceId })));
    expect(batchesSentTo(DISCOVERY_QUEUE_URL)).toEqual([]);
    expect(simulator.stats().listCalls).toBe(3);
    // The schedule message's id is the run, so a redelivery of it resumes instead of starting over.
    expect(await store.getDiscoveryCheckpoint(account)).toMatchObject({
      runId: record.messageId,
      state: 'done',
      devicesEnqueued: FLEET_SIZE,
    });
  });

  it('stops at a page boundary when time is short and continues itself through the discovery queue', async () => {
    // Prepare: plenty of time for the first page, then less than the reserve the handler keeps.
    const { account, deviceIds } = newFleet();
    sqs.on(SendMessageBatchCommand).callsFake(allAccepted);
    const context = lambdaContext(() => (simulator.stats().listCalls >= 1 ? 30_000 : FULL_BUDGET_MS), 'discover-fleet');
    const record = sqsRecord(JSON.stringify({ account }), { queueName: DISCOVERY_QUEUE });

    // Act
    const first = await handler(sqsEvent([record]), context);
    const pagesFetched = simulator.stats().listCalls;
    const continuation = bodiesSentTo(DISCOVERY_QUEUE_URL);
    const continued = await handler(
      sqsEvent([sqsRecord(JSON.stringify(continuation[0]), { queueName: DISCOVERY_QUEUE })]),
      lambdaContext(FULL_BUDGET_MS, 'discover-fleet'),
    );

    // Assess
    expect(first).toEqual({ batchItemFailures: [] });
    expect(pagesFetched).toBe(1);
    expect(continuation).toEqual([{ account, runId: record.messageId }]);
    expect(continued).toEqual({ batchItemFailures: [] });
    expect(simulator.stats().listCalls).toBe(3);
    expect(bodiesSentTo(SYNC_QUEUE_URL).map(keyOf)).toEqual(deviceIds.map((deviceId) => ({ account, deviceId })));
    expect(await store.getDiscoveryCheckpoint(account)).toMatchObject({
      runId: record.messageId,
      state: 'done',
      pagesDone: 3,
    });
  });

  it('sends again the entries SQS did not accept, so no device is lost', async () => {
    // Prepare: the first SendMessageBatch accepts only its first three entries; SQS keeps what it accepted.
    const { account, deviceIds } = newFleet();
    const accepted: string[] = [];
    let calls = 0;
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      calls += 1;
      const entries = input.Entries ?? [];
      const taken = calls === 1 ? entries.slice(0, 3) : entries;
      accepted.push(...taken.map((entry) => entry.MessageBody ?? ''));
      return {
        Successful: taken.map((entry) => ({ Id: entry.Id, MessageId: `m-${entry.Id}`, MD5OfMessageBody: '' })),
        Failed: entries
          .slice(taken.length)
          .map((entry) => ({ Id: entry.Id, Code: 'InternalError', SenderFault: false })),
        $metadata: {},
      };
    });
    const record = sqsRecord(JSON.stringify({ account }), { queueName: DISCOVERY_QUEUE });

    // Act
    const response = await handler(sqsEvent([record]), lambdaContext(FULL_BUDGET_MS, 'discover-fleet'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const firstBatch = (batchesSentTo(SYNC_QUEUE_URL)[0]?.Entries ?? []).map((entry) => entry.MessageBody);
    const resent = batchesSentTo(SYNC_QUEUE_URL).filter((batch) =>
      (batch.Entries ?? []).some((entry) => entry.MessageBody === firstBatch[3]),
    );
    expect(resent).toHaveLength(2);
    expect(resent[1]?.Entries?.map((entry) => entry.MessageBody)).toEqual(firstBatch.slice(3));
    // Every device accepted exactly once.
    expect(accepted.map((body) => keyOf(JSON.parse(body))).sort(byDeviceId)).toEqual(
      deviceIds.map((deviceId) => ({ account, deviceId })),
    );
  });

  it.each([
    ['a body that is not JSON', 'account=0000000042-00001', 'Message body is not JSON'],
    ['an account that is not one', JSON.stringify({ account: '../0042' }), 'Invalid account name format'],
  ])('dead-letters %s with its reason instead of retrying it, and lists no device', async (_case, body, reason) => {
    // Prepare
    sqs.on(SendMessageCommand).resolves({ MessageId: 'dead-lettered' });
    const listCallsBefore = simulator.stats().listCalls;
    const record = sqsRecord(body, { queueName: DISCOVERY_QUEUE });

    // Act
    const response = await handler(sqsEvent([record]), lambdaContext(FULL_BUDGET_MS, 'discover-fleet'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const deadLettered = sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input);
    expect(deadLettered).toHaveLength(1);
    expect(deadLettered[0]).toMatchObject({
      QueueUrl: DISCOVERY_DLQ_URL,
      MessageBody: body,
      MessageAttributes: {
        errorCode: { DataType: 'String', StringValue: 'INVALID_PARAMETER' },
        errorMessage: { DataType: 'String', StringValue: expect.stringContaining(reason) },
      },
    });
    expect(simulator.stats().listCalls).toBe(listCallsBefore);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });
});
