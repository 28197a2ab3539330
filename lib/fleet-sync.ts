/**
 * Archives whole fleets (planned for 1,000,000 devices per account) before ThingSpace's six-month window
 * forgets their history:
 *   schedule -> discovery queue {account} -> discover-fleet (pages the device list, checkpoints in the
 *   table, re-enqueues itself) -> sync queue {account, deviceId} -> sync-devices (archives one device).
 * Events `FOTA Device Sync Requested` feed single devices into the same sync queue.
 */
import { Annotations, Duration, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { RecursiveLoop } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../functions/commons/configuration';
import { DEVICE_SYNC_REQUESTED_DETAIL_TYPE, FLEET_SYNC_EVENT_SOURCE } from './fleet-sync-events';
import { DISCOVERY_TABLE_ACTIONS, grantHistoryAccess, type HistoryAccess } from './history-access';
import { deadLetterAlarm, deadLetterQueue, QueueWithDeadLetterQueue } from './queue-with-dead-letter-queue';
import { ServiceFunction } from './service-function';

export interface FleetSyncProps {
  readonly access: HistoryAccess;
  readonly logLevel: string;
  /** ThingSpace accounts archived on `schedule`; none means no schedule at all. */
  readonly fleetAccounts: readonly string[];
  /** An EventBridge schedule expression, e.g. `rate(1 day)` or `cron(0 3 * * ? *)`. */
  readonly schedule: string;
  /** Upper bound on concurrent sync workers: the request rate toward ThingSpace scales with it. */
  readonly syncMaxConcurrency: number;
  /** (d) of the change-aware selection: days after which every device is asked again. */
  readonly fullResyncDays?: number;
}

const SYNC_WORKER_TIMEOUT = Duration.seconds(60);
/** Long enough to page and enqueue many 1,000-device pages per run; the function re-enqueues itself to go on. */
const DISCOVERY_TIMEOUT = Duration.minutes(10);
/** Lambda's guidance for SQS sources: visibility >= 6x timeout, so throttled retries don't redeliver early. */
const VISIBILITY_PER_TIMEOUT = 6;
function visibilityFor(consumerTimeout: Duration): Duration {
  return Duration.seconds(consumerTimeout.toSeconds() * VISIBILITY_PER_TIMEOUT);
}
/** Transient ThingSpace failures get a few tries; a message failing five receives is poison. */
const MAX_RECEIVE_COUNT = 5;
/** EventBridge allows five targets per rule, so accounts beyond five go to further rules on the same schedule. */
const MAX_TARGETS_PER_RULE = 5;
/** SQS event sources accept 2 at the least; discovery is sequential per account anyway. */
const DISCOVERY_MAX_CONCURRENCY = 2;
/**
 * EventBridge's delivery retries to the queues: a failed delivery is retried for up to a day, then it
 * lands in the rule targets' dead-letter queue, where an alarm shows it, instead of being dropped.
 */
const EVENT_TARGET_RETRY_ATTEMPTS = 20;
const EVENT_TARGET_MAX_EVENT_AGE = Duration.hours(24);

export class FleetSync extends Construct {
  readonly syncQueue: QueueWithDeadLetterQueue;
  readonly discoveryQueue: QueueWithDeadLetterQueue;
  readonly syncWorker: ServiceFunction;
  readonly discovery: ServiceFunction;
  /** Empty when no account is configured; one rule per five accounts otherwise. */
  readonly schedules: readonly Rule[];
  readonly deviceSyncRequestedRule: Rule;
  /** Where EventBridge puts an event it could not deliver to a queue, after its retries. */
  readonly eventTargetDeadLetterQueue: Queue;
  readonly eventTargetDeadLetterAlarm: Alarm;
  /** Lambda dropped a discovery continuation as a recursive loop (should never fire: the loop is allowed). */
  readonly recursionDroppedAlarm: Alarm;

  constructor(scope: Construct, id: string, props: FleetSyncProps) {
    super(scope, id);

    this.syncQueue = new QueueWithDeadLetterQueue(this, 'SyncQueue', {
      visibilityTimeout: visibilityFor(SYNC_WORKER_TIMEOUT),
      maxReceiveCount: MAX_RECEIVE_COUNT,
      alarmDescription:
        'Device sync messages were dead-lettered: those devices are not being archived. Inspect and redrive the DLQ.',
    });
    this.discoveryQueue = new QueueWithDeadLetterQueue(this, 'DiscoveryQueue', {
      visibilityTimeout: visibilityFor(DISCOVERY_TIMEOUT),
      maxReceiveCount: MAX_RECEIVE_COUNT,
      alarmDescription:
        'Fleet discovery messages were dead-lettered: an account fleet is not being walked. Inspect and redrive the DLQ.',
    });

    this.syncWorker = new ServiceFunction(this, 'SyncWorker', {
      entryFile: 'sync-devices.ts',
      description: 'Archives the ThingSpace upgrade history of the devices in each sync queue batch',
      timeout: SYNC_WORKER_TIMEOUT,
      logLevel: props.logLevel,
      environment: { [ENV.SYNC_DLQ_URL]: this.syncQueue.deadLetterQueue.queueUrl },
    });
    grantHistoryAccess(this.syncWorker, props.access, { callsThingSpace: true });
    // Messages that can never succeed (e.g. an invalid device key) go straight to the DLQ instead of
    // burning five receives. ChangeMessageVisibility (backoff) is part of the event source's consume grant.
    this.syncQueue.deadLetterQueue.grantSendMessages(this.syncWorker.lambda);
    this.syncWorker.lambda.addEventSource(
      new SqsEventSource(this.syncQueue.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: props.syncMaxConcurrency,
      }),
    );

    // The queue URL from CDK, so the worker never derives one from the record's ARN with a fixed host.
    this.syncWorker.lambda.addEnvironment(ENV.SYNC_QUEUE_URL, this.syncQueue.queue.queueUrl);

    this.discovery = new ServiceFunction(this, 'Discovery', {
      entryFile: 'discover-fleet.ts',
      description: "Pages an account's ThingSpace device list and enqueues the devices that can have changed",
      timeout: DISCOVERY_TIMEOUT,
      logLevel: props.logLevel,
      environment: {
        [ENV.SYNC_QUEUE_URL]: this.syncQueue.queue.queueUrl,
        [ENV.DISCOVERY_QUEUE_URL]: this.discoveryQueue.queue.queueUrl,
        [ENV.DISCOVERY_DLQ_URL]: this.discoveryQueue.deadLetterQueue.queueUrl,
        [ENV.FULL_RESYNC_DAYS]: String(props.fullResyncDays ?? 7),
      },
      // Discovery continues a long pass by sending {account, runId} to its own queue. Lambda's default
      // (Terminate) drops such a chain after 16 invocations, so a 1,000-page account would never finish.
      // The chain is bounded by the checkpoint: a continuation only carries on its own unfinished run.
      recursiveLoop: RecursiveLoop.ALLOW,
    });
    grantHistoryAccess(this.discovery, props.access, { callsThingSpace: true, tableActions: DISCOVERY_TABLE_ACTIONS });
    this.syncQueue.queue.grantSendMessages(this.discovery.lambda);
    this.discoveryQueue.queue.grantSendMessages(this.discovery.lambda);
    // As for the sync worker: a message that is not an account goes straight to the DLQ.
    this.discoveryQueue.deadLetterQueue.grantSendMessages(this.discovery.lambda);
    this.discovery.lambda.addEventSource(
      new SqsEventSource(this.discoveryQueue.queue, {
        batchSize: 1,
        reportBatchItemFailures: true,
        maxConcurrency: DISCOVERY_MAX_CONCURRENCY,
      }),
    );

    this.recursionDroppedAlarm = new Alarm(this, 'RecursionDroppedAlarm', {
      alarmDescription:
        "Lambda dropped a fleet discovery continuation as a recursive loop: that account pass stops and its last pages are not synced. Check the Discovery function's recursive loop setting.",
      metric: new Metric({
        namespace: 'AWS/Lambda',
        metricName: 'RecursiveInvocationsDropped',
        dimensionsMap: { FunctionName: this.discovery.lambda.functionName },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    this.eventTargetDeadLetterQueue = deadLetterQueue(this, 'EventTargetDeadLetterQueue');
    Validations.of(this.eventTargetDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself a dead-letter queue: that of the EventBridge rule targets (schedules and device sync requests).',
    });
    this.eventTargetDeadLetterAlarm = deadLetterAlarm(
      this,
      'EventTargetDeadLetterAlarm',
      this.eventTargetDeadLetterQueue,
      'EventBridge could not deliver a schedule or a device sync request to its queue: an account pass or a device sync did not start. Inspect the event target DLQ.',
    );

    this.schedules = this.scheduleFleetDiscovery(props.fleetAccounts, props.schedule);

    // Event detail {account, deviceId} becomes the sync message as is (see fleet-sync-events.ts).
    this.deviceSyncRequestedRule = new Rule(this, 'DeviceSyncRequested', {
      description: 'Queues one device for sync when someone asks for it by event',
      eventPattern: {
        source: [FLEET_SYNC_EVENT_SOURCE],
        detailType: [DEVICE_SYNC_REQUESTED_DETAIL_TYPE],
      },
      targets: [
        new SqsQueue(this.syncQueue.queue, {
          message: RuleTargetInput.fromEventPath('$.detail'),
          ...this.eventTargetDelivery(),
        }),
      ],
    });
  }

  /** Every rule target's delivery: retried, then dead-lettered (never dropped silently). */
  private eventTargetDelivery() {
    return {
      deadLetterQueue: this.eventTargetDeadLetterQueue,
      retryAttempts: EVENT_TARGET_RETRY_ATTEMPTS,
      maxEventAge: EVENT_TARGET_MAX_EVENT_AGE,
    };
  }

  private scheduleFleetDiscovery(accounts: readonly string[], schedule: string): Rule[] {
    if (accounts.length === 0) {
      Annotations.of(this).addWarningV2(
        'fota-history:noFleetAccounts',
        'No fleetAccounts in context: no scheduled fleet sync. Set -c fleetAccounts=<account>[,<account>] to archive whole fleets.',
      );
      return [];
    }
    const rules: Rule[] = [];
    for (let first = 0; first < accounts.length; first += MAX_TARGETS_PER_RULE) {
      const rule = new Rule(this, rules.length === 0 ? 'Schedule' : `Schedule${rules.length + 1}`, {
        description: 'Starts discovery of configured account fleets',
        schedule: Schedule.expression(schedule),
      });
      for (const account of accounts.slice(first, first + MAX_TARGETS_PER_RULE)) {
        rule.addTarget(
          new SqsQueue(this.discoveryQueue.queue, {
            message: RuleTargetInput.fromObject({ account }),
            ...this.eventTargetDelivery(),
          }),
        );
      }
      rules.push(rule);
    }
    return rules;
  }
}
