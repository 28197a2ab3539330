/**
 * An encrypted, TLS-only work queue whose poison messages land in a dead-letter queue, and an alarm
 * that fires as soon as anything does. SSE-SQS rather than a CMK: EventBridge can deliver to it without
 * a key policy, and the messages are device keys, not secrets.
 */
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface QueueWithDeadLetterQueueProps {
  /** At least six times the consumer's timeout, as Lambda recommends for SQS event sources. */
  readonly visibilityTimeout: Duration;
  readonly maxReceiveCount: number;
  readonly alarmDescription: string;
}

export class QueueWithDeadLetterQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly deadLetterAlarm: Alarm;

  constructor(scope: Construct, id: string, props: QueueWithDeadLetterQueueProps) {
    super(scope, id);

    this.deadLetterQueue = deadLetterQueue(this, 'DeadLetterQueue');

    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout,
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });

    this.deadLetterAlarm = deadLetterAlarm(this, 'DeadLetterAlarm', this.deadLetterQueue, props.alarmDescription);
  }
}

/** An encrypted, TLS-only dead-letter queue that keeps its messages as long as SQS allows. */
export function deadLetterQueue(scope: Construct, id: string): Queue {
  return new Queue(scope, id, {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    // The longest SQS allows: time for an operator to inspect and redrive.
    retentionPeriod: Duration.days(14),
  });
}

/** Fires as soon as anything is in the dead-letter queue. */
export function deadLetterAlarm(scope: Construct, id: string, queue: Queue, alarmDescription: string): Alarm {
  return new Alarm(scope, id, {
    alarmDescription,
    metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
    threshold: 0,
    comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    // SQS publishes no datapoint for an idle queue; silence means nothing is dead-lettered.
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
}
