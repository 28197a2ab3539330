/**
 * Change events from the table's stream, never from the request path, so a crash after a write cannot
 * lose its event:
 *   history table stream (NEW_AND_OLD_IMAGES) -> publish-change-events (maps with domain/change-event.ts)
 *   -> PutEvents on the configured bus.
 * A stream consumer rather than EventBridge Pipes: Pipes would still need a Lambda enrichment for the
 * mapping, and a consumer reports partial PutEvents failures per record (batch item failures) itself.
 * Batches that keep failing are bisected, retried, and finally described in a dead-letter queue whose
 * alarm fires at once (the event is lost to consumers until an operator replays it from the table).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, type IEventBus } from 'aws-cdk-lib/aws-events';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../functions/commons/configuration';
import { deadLetterAlarm, deadLetterQueue } from './queue-with-dead-letter-queue';
import { ServiceFunction } from './service-function';

export interface ChangeEventsProps {
  /** The history table, with a NEW_AND_OLD_IMAGES stream. */
  readonly table: ITable;
  readonly logLevel: string;
  /** Where events go: a bus ARN (wins), a bus name, or the account's default bus. */
  readonly eventBusArn?: string;
  readonly eventBusName?: string;
}

const PUBLISHER_TIMEOUT = Duration.seconds(60);
/** Retries of a failing batch (halved each time by bisection) before it goes to the dead-letter queue. */
const STREAM_RETRY_ATTEMPTS = 10;

export class ChangeEvents extends Construct {
  readonly publisher: ServiceFunction;
  readonly eventBus: IEventBus;
  readonly deadLetterQueue: Queue;
  readonly deadLetterAlarm: Alarm;

  constructor(scope: Construct, id: string, props: ChangeEventsProps) {
    super(scope, id);

    this.eventBus = props.eventBusArn
      ? EventBus.fromEventBusArn(this, 'Bus', props.eventBusArn)
      : EventBus.fromEventBusName(this, 'Bus', props.eventBusName ?? 'default');

    this.deadLetterQueue = deadLetterQueue(this, 'DeadLetterQueue');
    this.deadLetterAlarm = deadLetterAlarm(
      this,
      'DeadLetterAlarm',
      this.deadLetterQueue,
      'Change events could not be published: the dead-letter queue names the stream records (shard and sequence numbers). Re-read those upgrades and replay their events.',
    );

    this.publisher = new ServiceFunction(this, 'Publisher', {
      entryFile: 'publish-change-events.ts',
      description: 'Publishes FOTA upgrade change events from the history table stream to EventBridge',
      timeout: PUBLISHER_TIMEOUT,
      logLevel: props.logLevel,
      environment: { [ENV.EVENT_BUS_NAME]: this.eventBus.eventBusArn },
    });
    this.eventBus.grantPutEventsTo(this.publisher.lambda);
    this.publisher.lambda.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(1),
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: STREAM_RETRY_ATTEMPTS,
        // Stream records live 24 h; one that is older cannot be retried anyway.
        maxRecordAge: Duration.hours(24),
        onFailure: new SqsDlq(this.deadLetterQueue),
        // Only upgrade items can produce events; sync state, status-log items and the login guard never
        // invoke the function (the handler ignores them too, so the filter is only a saving).
        filters: [
          FilterCriteria.filter({
            eventName: FilterRule.or('INSERT', 'MODIFY'),
            dynamodb: { NewImage: { type: { S: FilterRule.isEqual('upgrade') } } },
          }),
        ],
      }),
    );

    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter destination of the stream consumer; an alarm watches it.',
    });
  }
}
