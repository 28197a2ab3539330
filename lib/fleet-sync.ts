import { Annotations, Duration } from 'aws-cdk-lib';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { DEVICE_SYNC_REQUESTED_DETAIL_TYPE, FLEET_SYNC_EVENT_SOURCE } from './fleet-sync-events';
import { grantHistoryAccess, type HistoryAccess } from './history-access';
import { QueueWithDeadLetterQueue } from './queue-with-dead-letter-queue';
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
 * Archives whole fleets (planned for 1,000,000 devices per account) before ThingSpace's six-month window
 * forgets their history:
 *   schedule -> discovery queue {account} -> discover-fleet (pages the device list, checkpoints in the
 *   table, re-enqueues itself) -> sync queue {account, deviceId} -> sync-devices (archives one device).
 * Events `FOTA Device Sync Requested` feed single devices into the same sync queue.
 */
export class FleetSync extends Construct {
  readonly syncQueue: QueueWithDeadLetterQueue;
  readonly discoveryQueue: QueueWithDeadLetterQueue;
  readonly syncWorker: ServiceFunction;
  readonly discovery: ServiceFunction;
  /** Empty when no account is configured; one rule per five accounts otherwise. */
  readonly schedules: readonly Rule[];
  readonly deviceSyncRequestedRule: Rule;

  constructor(scope: Construct, id: string, props: FleetSyncProps) {
    super(scope, id);

    this.syncQueue = new QueueWithDeadLetterQueue(this, 'SyncQueue', {
      visibilityTimeout: visibilityFor(SYNC_WORKER_TIMEOUT),
      maxReceiveCount: MAX_RECEIVE_COUNT,
      alarmDescription: 'Device sync messages were dead-lettered: those devices are not being archived. Inspect and redrive the DLQ.',
    });
    this.discoveryQueue = new QueueWithDeadLetterQueue(this, 'DiscoveryQueue', {
      visibilityTimeout: visibilityFor(DISCOVERY_TIMEOUT),
      maxReceiveCount: MAX_RECEIVE_COUNT,
      alarmDescription: 'Fleet discovery messages were dead-lettered: an account fleet is not being walked. Inspect and redrive the DLQ.',
    });

    this.syncWorker = new ServiceFunction(this, 'SyncWorker', {
      entryFile: 'sync-devices.ts',
      description: 'Archives the ThingSpace upgrade history of the devices in each sync queue batch',
      timeout: SYNC_WORKER_TIMEOUT,
      logLevel: props.logLevel,
      environment: { SYNC_DLQ_URL: this.syncQueue.deadLetterQueue.queueUrl },
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

    this.discovery = new ServiceFunction(this, 'Discovery', {
      entryFile: 'discover-fleet.ts',
      description: "Pages an account's ThingSpace device list and enqueues every device for sync",
      timeout: DISCOVERY_TIMEOUT,
      logLevel: props.logLevel,
      environment: {
        SYNC_QUEUE_URL: this.syncQueue.queue.queueUrl,
        DISCOVERY_QUEUE_URL: this.discoveryQueue.queue.queueUrl,
        DISCOVERY_DLQ_URL: this.discoveryQueue.deadLetterQueue.queueUrl,
      },
    });
    grantHistoryAccess(this.discovery, props.access, { callsThingSpace: true });
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

    this.schedules = this.scheduleFleetDiscovery(props.fleetAccounts, props.schedule);

    // Event detail {account, deviceId} becomes the sync message as is (see fleet-sync-events.ts).
    this.deviceSyncRequestedRule = new Rule(this, 'DeviceSyncRequested', {
      description: 'Queues one device for sync when someone asks for it by event',
      eventPattern: {
        source: [FLEET_SYNC_EVENT_SOURCE],
        detailType: [DEVICE_SYNC_REQUESTED_DETAIL_TYPE],
      },
      targets: [new SqsQueue(this.syncQueue.queue, { message: RuleTargetInput.fromEventPath('$.detail') })],
    });
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
        rule.addTarget(new SqsQueue(this.discoveryQueue.queue, { message: RuleTargetInput.fromObject({ account }) }));
      }
      rules.push(rule);
    }
    return rules;
  }
}
