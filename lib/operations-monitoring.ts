/**
 * What an operator needs to run the service: an alarm on every failure mode that loses or delays
 * archiving (function errors and throttles, API 5XX, a sync queue falling behind), all notifying the
 * operator's topic with the DLQ and recursion alarms, and one dashboard of the service's health.
 */
import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IAlarmAction,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { UPSTREAM_FAILURE_KIND_DIMENSION, UPSTREAM_FAILURES_METRIC } from '../functions/commons/history-metrics';
import { POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME, type ServiceFunction } from './service-function';

export interface OperationsMonitoringProps {
  /** Each function by a short name for the alarm descriptions, e.g. `{ SyncWorker: fn }`. */
  readonly functions: Readonly<Record<string, ServiceFunction>>;
  readonly api: RestApi;
  readonly syncQueue: IQueue;
  readonly discoveryQueue: IQueue;
  /** Queues whose depth the dashboard shows, by name (work queues and DLQs). */
  readonly queues: Readonly<Record<string, IQueue>>;
  /** Alarms created elsewhere (DLQs, dropped recursions) that get the same action. */
  readonly otherAlarms: readonly Alarm[];
  /** The operator's notification (an SNS topic), if configured. */
  readonly alarmAction?: IAlarmAction;
}

/**
 * A daily pass over a 1,000,000-device account at the default bound (5 workers x 10 devices) takes
 * hours when every device is asked; older than this, the sync is not keeping up with its schedule.
 */
const SYNC_QUEUE_MAX_AGE = Duration.hours(12);
const PERIOD = Duration.minutes(5);
/** The kinds of ThingSpace failure the functions count (domain/thingspace-error.ts). */
const UPSTREAM_FAILURE_KINDS = ['unavailable', 'timeout', 'auth', 'malformed', 'rejected'] as const;

export class OperationsMonitoring extends Construct {
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: OperationsMonitoringProps) {
    super(scope, id);

    for (const [name, fn] of Object.entries(props.functions)) {
      this.alarm(
        `${name}Errors`,
        fn.lambda.metricErrors({ period: PERIOD, statistic: 'Sum' }),
        0,
        `${name} failed invocations (an unhandled error or a timeout). See its log group for the error.`,
      );
      this.alarm(
        `${name}Throttles`,
        fn.lambda.metricThrottles({ period: PERIOD, statistic: 'Sum' }),
        0,
        `${name} invocations were throttled: the account's or the function's concurrency limit was reached.`,
      );
    }
    this.alarm(
      'Api5xx',
      props.api.metricServerError({ period: PERIOD, statistic: 'Sum' }),
      0,
      'The history API answered 5XX: ThingSpace or the archive unavailable, or a failure of the service.',
    );
    this.alarm(
      'SyncQueueAge',
      props.syncQueue.metricApproximateAgeOfOldestMessage({ period: PERIOD, statistic: 'Maximum' }),
      SYNC_QUEUE_MAX_AGE.toSeconds(),
      `A device has waited more than ${SYNC_QUEUE_MAX_AGE.toHours()} hours in the sync queue: the fleet sync is not keeping up (raise syncMaxConcurrency, or check ThingSpace).`,
    );

    if (props.alarmAction) {
      for (const alarm of [...this.alarms, ...props.otherAlarms]) alarm.addAlarmAction(props.alarmAction);
    }

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    const fleetMetric = (metricName: string, label: string) =>
      new Metric({
        namespace: POWERTOOLS_METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: POWERTOOLS_SERVICE_NAME },
        statistic: 'Sum',
        period: PERIOD,
        label,
      });
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'API latency',
        left: [
          props.api.metricLatency({ period: PERIOD, statistic: 'p50', label: 'p50' }),
          props.api.metricLatency({ period: PERIOD, statistic: 'p99', label: 'p99' }),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'API errors',
        left: [
          props.api.metricServerError({ period: PERIOD, statistic: 'Sum', label: '5XX' }),
          props.api.metricClientError({ period: PERIOD, statistic: 'Sum', label: '4XX' }),
        ],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Fleet sync: devices',
        left: [
          fleetMetric('DevicesListed', 'listed'),
          fleetMetric('DevicesAsked', 'asked'),
          fleetMetric('DevicesSkipped', 'skipped'),
          fleetMetric('DevicesSynced', 'synced'),
          fleetMetric('DeviceSyncFailures', 'failed (retried)'),
          fleetMetric('MessagesDeadLettered', 'dead-lettered'),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'ThingSpace failures by kind',
        left: UPSTREAM_FAILURE_KINDS.map(
          (kind): IMetric =>
            new Metric({
              namespace: POWERTOOLS_METRICS_NAMESPACE,
              metricName: UPSTREAM_FAILURES_METRIC,
              dimensionsMap: { service: POWERTOOLS_SERVICE_NAME, [UPSTREAM_FAILURE_KIND_DIMENSION]: kind },
              statistic: 'Sum',
              period: PERIOD,
              label: kind,
            }),
        ),
        right: [fleetMetric('StaleAnswers', 'API answers from the archive alone')],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Queue depths (visible + in flight)',
        left: Object.entries(props.queues).map(
          ([name, queue], index) =>
            new MathExpression({
              // Ids must be unique across the graph's expressions.
              expression: `visible${index} + inFlight${index}`,
              usingMetrics: {
                [`visible${index}`]: queue.metricApproximateNumberOfMessagesVisible({
                  period: PERIOD,
                  statistic: 'Maximum',
                }),
                [`inFlight${index}`]: queue.metricApproximateNumberOfMessagesNotVisible({
                  period: PERIOD,
                  statistic: 'Maximum',
                }),
              },
              label: name,
              period: PERIOD,
            }),
        ),
        width: 12,
      }),
      new GraphWidget({
        title: 'Oldest message age (s)',
        left: [
          props.syncQueue.metricApproximateAgeOfOldestMessage({
            period: PERIOD,
            statistic: 'Maximum',
            label: 'sync queue',
          }),
          props.discoveryQueue.metricApproximateAgeOfOldestMessage({
            period: PERIOD,
            statistic: 'Maximum',
            label: 'discovery queue',
          }),
        ],
        width: 12,
      }),
    );
  }

  private alarm(id: string, metric: IMetric, threshold: number, description: string): void {
    this.alarms.push(
      new Alarm(this, `${id}Alarm`, {
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // No datapoint means no invocation, request or message: nothing is failing.
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
