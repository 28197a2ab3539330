import {
  ChangeMessageVisibilityCommand,
  type ChangeMessageVisibilityCommandInput,
  SendMessageCommand,
  type SendMessageCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbHistoryStore } from '../../adapters/dynamodb/dynamodb-history-store';
import { ErrorCode } from '../../domain/failure';
import { ConfigurationError } from '../../functions/commons/configuration';
import { buildHistoryDependencies } from '../../functions/commons/history-dependencies';
import { makeHandler } from '../../functions/sync-devices';
import {
  DEVICE_SYNC_REQUESTED_DETAIL_TYPE,
  type DeviceSyncRequestedDetail,
  FLEET_SYNC_EVENT_SOURCE,
} from '../../lib/fleet-sync-events';
import { startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { useTestDynamoDb } from '../support/dynamodb';
import { handlerConfig } from '../support/handler-environment';
import { lambdaContext, queueUrlOf, sqsEvent, sqsRecord } from '../support/lambda';

const ACCOUNT = '0000000042-00001';
const SYNC_QUEUE = 'fota-sync-queue';
const DLQ_URL = queueUrlOf('fota-sync-dlq');

const dynamo = useTestDynamoDb();
const sqs = mockClient(SQSClient);

let simulator: ThingSpaceSimulator;
let store: DynamoDbHistoryStore;
let fleet: { deviceIdAt(index: number): string };
let handler: (event: SQSEvent, context: ReturnType<typeof lambdaContext>) => Promise<SQSBatchResponse>;

beforeAll(async () => {
  simulator = await startThingSpaceSimulator();
  fleet = simulator.addSyntheticFleet(ACCOUNT, { size: 20, recordsPerDevice: 3 });
  const tableName = await dynamo.createTestTable();
  store = new DynamoDbHistoryStore({ client: dynamo.client, tableName });
  const config = handlerConfig(
    { tableName, dynamoDbEndpoint: dynamo.endpoint, thingspaceUrl: simulator.url },
    { SYNC_DLQ_URL: DLQ_URL, SYNC_QUEUE_URL: queueUrlOf(SYNC_QUEUE) },
  );
  const dependencies = { history: buildHistoryDependencies(config), sqs: new SQSClient({}), queues: config.queues };
  handler = makeHandler(() => dependencies);
});

afterAll(async () => {
  sqs.restore();
  await simulator.close();
});

beforeEach(() => {
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'dead-lettered' });
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
  simulator.reset();
});

function deviceMessage(deviceId: string): string {
  return JSON.stringify({ account: ACCOUNT, deviceId });
}

function deadLettered(): SendMessageCommandInput[] {
  return sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input);
}

function visibilityChanges(): ChangeMessageVisibilityCommandInput[] {
  return sqs.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input);
}

describe('sync-devices handler (SQS worker) with the simulator and dynalite', () => {
  it("archives every device of the batch with the API's archive code and records a successful sync", async () => {
    // Prepare
    const deviceIds = [fleet.deviceIdAt(0), fleet.deviceIdAt(1), fleet.deviceIdAt(2)];
    const event = sqsEvent(deviceIds.map((deviceId) => sqsRecord(deviceMessage(deviceId), { queueName: SYNC_QUEUE })));

    // Act
    const response = await handler(event, lambdaContext(60_000, 'sync-devices'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    for (const deviceId of deviceIds) {
      const device = { account: ACCOUNT, deviceId };
      const archived = await store.listUpgrades(device);
      expect(archived.map((upgrade) => upgrade.record)).toEqual(
        expect.arrayContaining(simulator.liveHistory(ACCOUNT, deviceId) ?? []),
      );
      expect(archived).toHaveLength(3);
      expect(await store.getSyncState(device)).toMatchObject({ ...device, outcome: 'success', upgradesSeen: 3 });
      expect(simulator.historyCallsFor(deviceId)).toBe(1);
    }
    expect(deadLettered()).toEqual([]);
    expect(visibilityChanges()).toEqual([]);
  });

  it('reports only the device ThingSpace fails with 500, and delays its retry with a backoff', async () => {
    // Prepare
    const failing = fleet.deviceIdAt(3);
    const good = fleet.deviceIdAt(4);
    simulator.setDeviceFault(failing, { kind: 'status', status: 500 });
    const failingRecord = sqsRecord(deviceMessage(failing), { queueName: SYNC_QUEUE, receiveCount: 3 });
    const event = sqsEvent([sqsRecord(deviceMessage(good), { queueName: SYNC_QUEUE }), failingRecord]);

    // Act
    const response = await handler(event, lambdaContext(60_000, 'sync-devices'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: failingRecord.messageId }] });
    const changes = visibilityChanges();
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ QueueUrl: queueUrlOf(SYNC_QUEUE), ReceiptHandle: failingRecord.receiptHandle });
    // Third receive: 30 s doubled twice, with jitter over its upper half.
    expect(changes[0]?.VisibilityTimeout).toBeGreaterThanOrEqual(60);
    expect(changes[0]?.VisibilityTimeout).toBeLessThanOrEqual(120);
    expect(deadLettered()).toEqual([]);
    expect(await store.getSyncState({ account: ACCOUNT, deviceId: failing })).toMatchObject({
      outcome: 'failure',
      errorCode: ErrorCode.upstreamUnavailable,
    });
    expect(await store.getSyncState({ account: ACCOUNT, deviceId: good })).toMatchObject({ outcome: 'success' });
  });

  it('dead-letters invalid messages with their errorCode instead of retrying them, and asks ThingSpace nothing', async () => {
    // Prepare
    const notJson = sqsRecord('{"account": "0000000042-00001", deviceId', { queueName: SYNC_QUEUE });
    const badImei = sqsRecord(JSON.stringify({ account: ACCOUNT, deviceId: '12345' }), { queueName: SYNC_QUEUE });
    const badAccount = sqsRecord(JSON.stringify({ account: 'ACME', deviceId: fleet.deviceIdAt(5) }), {
      queueName: SYNC_QUEUE,
    });

    // Act
    const response = await handler(sqsEvent([notJson, badImei, badAccount]), lambdaContext(60_000, 'sync-devices'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const sent = deadLettered();
    expect(sent.map((message) => message.MessageBody).sort()).toEqual(
      [notJson.body, badImei.body, badAccount.body].sort(),
    );
    for (const message of sent) {
      expect(message.QueueUrl).toBe(DLQ_URL);
      expect(message.MessageAttributes?.errorCode).toEqual({
        DataType: 'String',
        StringValue: ErrorCode.invalidParameter,
      });
      expect(message.MessageAttributes?.errorMessage?.StringValue).toBeTruthy();
    }
    expect(simulator.stats().historyCalls).toBe(0);
    expect(visibilityChanges()).toEqual([]);
  });

  it('dead-letters an invalid message with its reason and delays a valid one when the ThingSpace and store side cannot be built', async () => {
    // Prepare: the deployed handler builds that side at first use; here building it fails, as it does
    // with a secret id missing from the function's environment.
    const unbuildable = makeHandler(() => ({
      get history(): never {
        throw new ConfigurationError('THINGSPACE_SECRET_ID or THINGSPACE_CREDENTIALS must be set');
      },
      sqs: new SQSClient({}),
      queues: { sync: queueUrlOf(SYNC_QUEUE), syncDeadLetter: DLQ_URL },
    }));
    const badImei = sqsRecord(JSON.stringify({ account: ACCOUNT, deviceId: '12345' }), { queueName: SYNC_QUEUE });
    const valid = sqsRecord(deviceMessage(fleet.deviceIdAt(7)), { queueName: SYNC_QUEUE });

    // Act
    const response = await unbuildable(sqsEvent([badImei, valid]), lambdaContext(60_000, 'sync-devices'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: valid.messageId }] });
    expect(deadLettered()).toMatchObject([
      { MessageBody: badImei.body, MessageAttributes: { errorCode: { StringValue: ErrorCode.invalidParameter } } },
    ]);
    expect(visibilityChanges()).toMatchObject([{ ReceiptHandle: valid.receiptHandle }]);
    expect(simulator.stats().historyCalls).toBe(0);
  });

  it('dead-letters a device ThingSpace refuses (400) and records the refusal code on the device', async () => {
    // Prepare
    const refused = fleet.deviceIdAt(6);
    simulator.setDeviceFault(refused, {
      kind: 'status',
      status: 400,
      body: { errorCode: 'UnifiedWebService.REQUEST_FAILED.DeviceNotFound', errorMessage: 'Device not found' },
    });
    const record = sqsRecord(deviceMessage(refused), { queueName: SYNC_QUEUE });

    // Act
    const response = await handler(sqsEvent([record]), lambdaContext(60_000, 'sync-devices'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(deadLettered()).toEqual([
      expect.objectContaining({
        QueueUrl: DLQ_URL,
        MessageBody: record.body,
        MessageAttributes: expect.objectContaining({
          errorCode: { DataType: 'String', StringValue: 'UnifiedWebService.REQUEST_FAILED.DeviceNotFound' },
        }),
      }),
    ]);
    // A refusal is not retried: one call, no backoff.
    expect(simulator.historyCallsFor(refused)).toBe(1);
    expect(visibilityChanges()).toEqual([]);
    expect(await store.getSyncState({ account: ACCOUNT, deviceId: refused })).toMatchObject({
      outcome: 'failure',
      errorCode: 'UnifiedWebService.REQUEST_FAILED.DeviceNotFound',
    });
    expect(await store.listUpgrades({ account: ACCOUNT, deviceId: refused })).toEqual([]);
  });

  it('syncs a device named by an EventBridge "FOTA Device Sync Requested" event like a hand-sent message', async () => {
    // Prepare: the rule delivers the event's `$.detail` as the message body.
    const detail: DeviceSyncRequestedDetail = { account: ACCOUNT, deviceId: fleet.deviceIdAt(7) };
    const eventBridgeEvent = {
      version: '0',
      id: 'e2a1c7f0-0000-4000-8000-000000000001',
      source: FLEET_SYNC_EVENT_SOURCE,
      'detail-type': DEVICE_SYNC_REQUESTED_DETAIL_TYPE,
      account: '123456789012',
      time: '2025-06-01T00:00:00Z',
      region: 'us-east-1',
      resources: [],
      detail,
    };
    const handSent = fleet.deviceIdAt(8);
    const records = [
      sqsRecord(JSON.stringify(eventBridgeEvent.detail), { queueName: SYNC_QUEUE }),
      sqsRecord(deviceMessage(handSent), { queueName: SYNC_QUEUE }),
    ];

    // Act
    const response = await handler(sqsEvent(records), lambdaContext(60_000, 'sync-devices'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    for (const deviceId of [detail.deviceId, handSent]) {
      expect(await store.getSyncState({ account: ACCOUNT, deviceId })).toMatchObject({
        outcome: 'success',
        upgradesSeen: 3,
      });
      expect(await store.listUpgrades({ account: ACCOUNT, deviceId })).toHaveLength(3);
    }
    expect(deadLettered()).toEqual([]);
  });
});
