/**
 * The table's stream (NEW_AND_OLD_IMAGES) -> EventBridge. An event that cannot be published fails its
 * record and every later one (batch item failures), so Lambda retries the shard from there, in order;
 * after the event source's retries the batch goes to the dead-letter queue. Redelivery repeats an event
 * with the same detail.eventId, which consumers dedupe on.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type {
  DynamoDBBatchResponse,
  DynamoDBRecord,
  DynamoDBStreamEvent,
  AttributeValue as StreamAttributeValue,
} from 'aws-lambda';
import { EventBridgePublisher } from '../adapters/events/eventbridge-publisher';
import { type ChangeEvent, changeEventFor } from '../domain/change-event';
import { deployedConfig } from './commons/configuration';
import { logger, metrics, tracer } from './commons/powertools';
import { withPowertools } from './commons/powertools-handler';

/** What the change-event publisher is built from: the EventBridge publisher onto its bus. */
export interface PublisherDependencies {
  publisher: Pick<EventBridgePublisher, 'publish'>;
}

/** Onto `eventBusName` (EVENT_BUS_NAME; the default bus when unset). */
export function buildPublisherDependencies(eventBusName: string): PublisherDependencies {
  return {
    publisher: new EventBridgePublisher({
      client: tracer.captureAWSv3Client(new EventBridgeClient({})),
      eventBusName,
    }),
  };
}

function image(value: Record<string, StreamAttributeValue> | undefined): Record<string, unknown> | undefined {
  // aws-lambda's and the SDK's AttributeValue types describe the same wire shape.
  return value ? unmarshall(value as Record<string, AttributeValue>) : undefined;
}

/** The change event a stream record stands for, if any (the same mapping npm start's feed uses). */
export function changeEventOfRecord(record: DynamoDBRecord): ChangeEvent | undefined {
  if (record.eventName === 'REMOVE') return undefined;
  return changeEventFor(image(record.dynamodb?.OldImage), image(record.dynamodb?.NewImage));
}

export function makeHandler(dependencies: () => PublisherDependencies) {
  return withPowertools<DynamoDBStreamEvent, DynamoDBBatchResponse>().handler((event) =>
    publish(event, dependencies()),
  );
}

async function publish(
  event: DynamoDBStreamEvent,
  dependencies: PublisherDependencies,
): Promise<DynamoDBBatchResponse> {
  const records = event.Records;
  const mapped: Array<{ index: number; event: ChangeEvent }> = [];
  records.forEach((record, index) => {
    const change = changeEventOfRecord(record);
    if (change) mapped.push({ index, event: change });
  });
  if (mapped.length === 0) return { batchItemFailures: [] };

  const failedPositions = await dependencies.publisher.publish(mapped.map(({ event: change }) => change));
  metrics.addMetric('ChangeEventsPublished', MetricUnit.Count, mapped.length - failedPositions.length);
  if (failedPositions.length === 0) return { batchItemFailures: [] };

  metrics.addMetric('ChangeEventsFailed', MetricUnit.Count, failedPositions.length);
  const firstFailed = mapped[Math.min(...failedPositions)]!;
  logger.warn('change events could not be published; the stream retries from the first', {
    failed: failedPositions.length,
    firstEventId: firstFailed.event.detail.eventId,
  });
  return {
    batchItemFailures: records
      .slice(firstFailed.index)
      .map((record) => ({ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' })),
  };
}

let deployed: PublisherDependencies | undefined;

/** Deployed: one publisher per execution environment, onto the bus the stack names. */
export const handler = makeHandler(() => {
  deployed ??= buildPublisherDependencies(deployedConfig().eventBusName);
  return deployed;
});
