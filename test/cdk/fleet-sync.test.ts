import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DEVICE_SYNC_REQUESTED_DETAIL_TYPE, FLEET_SYNC_EVENT_SOURCE } from '../../lib/fleet-sync-events';
import { buildStack, FLEET_ACCOUNTS, logicalIdFor, resourcesOfType } from './stack-template';

// Prepare (once per file)
const { template, stack } = buildStack();
const functions = resourcesOfType(template, 'AWS::Lambda::Function');
const queues = resourcesOfType(template, 'AWS::SQS::Queue');
const mappings = Object.values(resourcesOfType(template, 'AWS::Lambda::EventSourceMapping'));

const { fleetSync } = stack;
const syncQueueId = logicalIdFor(stack, fleetSync.syncQueue.queue);
const syncDlqId = logicalIdFor(stack, fleetSync.syncQueue.deadLetterQueue);
const discoveryQueueId = logicalIdFor(stack, fleetSync.discoveryQueue.queue);
const discoveryDlqId = logicalIdFor(stack, fleetSync.discoveryQueue.deadLetterQueue);
const workerId = logicalIdFor(stack, fleetSync.syncWorker.lambda);
const discoveryId = logicalIdFor(stack, fleetSync.discovery.lambda);

const mappingFor = (queueId: string) =>
  mappings.find((mapping) => JSON.stringify(mapping.Properties?.EventSourceArn).includes(queueId))?.Properties;

describe('fleet sync queues', () => {
  it.each([
    ['sync', syncQueueId, syncDlqId, workerId],
    ['discovery', discoveryQueueId, discoveryDlqId, discoveryId],
  ])(
    '%s queue is encrypted, redrives to its DLQ and outlasts six consumer timeouts',
    (_name, queueId, dlqId, consumerId) => {
      // Act
      const queue = queues[queueId]?.Properties ?? {};
      const dlq = queues[dlqId]?.Properties ?? {};
      const consumerTimeout = functions[consumerId]?.Properties?.Timeout as number;

      // Assess
      expect(queue.SqsManagedSseEnabled).toBe(true);
      expect(queue.RedrivePolicy).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
        maxReceiveCount: 5,
      });
      expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * consumerTimeout);
      expect(dlq.SqsManagedSseEnabled).toBe(true);
      expect(dlq.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    },
  );

  it('denies non-TLS access to every queue', () => {
    // Act
    const policies = Object.values(resourcesOfType(template, 'AWS::SQS::QueuePolicy'));
    const protectedQueues = policies
      .filter((policy) => JSON.stringify(policy.Properties?.PolicyDocument).includes('"aws:SecureTransport":"false"'))
      .flatMap((policy) => (policy.Properties?.Queues as { Ref: string }[]).map((queue) => queue.Ref));

    // Assess
    expect(new Set(protectedQueues)).toEqual(new Set(Object.keys(queues)));
  });

  it.each([
    ['sync', syncDlqId],
    ['discovery', discoveryDlqId],
  ])('alarms as soon as the %s DLQ holds a message', (_name, dlqId) => {
    // Act + Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
    });
  });
});

describe('fleet sync functions', () => {
  it('sync worker reads 10-message batches, reports item failures and is bounded by syncMaxConcurrency', () => {
    // Act
    const mapping = mappingFor(syncQueueId);

    // Assess
    expect(mapping).toMatchObject({
      FunctionName: { Ref: workerId },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('takes the sync concurrency from context and refuses less than SQS allows', () => {
    // Prepare
    const { template: wider } = buildStack({ syncMaxConcurrency: '12' });

    // Act + Assess
    wider.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 12 },
    });
    expect(() => buildStack({ syncMaxConcurrency: 1 })).toThrow(/syncMaxConcurrency/);
  });

  it('discovery reads one message at a time with a concurrency of two', () => {
    // Act
    const mapping = mappingFor(discoveryQueueId);

    // Assess
    expect(mapping).toMatchObject({
      FunctionName: { Ref: discoveryId },
      BatchSize: 1,
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('lets the worker dead-letter, back off and the discovery enqueue to both queues', () => {
    // Act
    const policyOf = (functionId: string) => {
      const roleRef = JSON.stringify(
        (functions[functionId]?.Properties?.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0],
      );
      const policy = Object.values(resourcesOfType(template, 'AWS::IAM::Policy')).find((candidate) =>
        JSON.stringify(candidate.Properties?.Roles).includes(roleRef),
      );
      return (policy?.Properties?.PolicyDocument as { Statement: { Action: string[]; Resource: unknown }[] }).Statement;
    };
    const grants = (functionId: string, queueId: string) =>
      policyOf(functionId)
        .filter(
          (statement) => JSON.stringify(statement.Resource) === JSON.stringify({ 'Fn::GetAtt': [queueId, 'Arn'] }),
        )
        .flatMap((statement) => [statement.Action].flat());

    // Assess
    expect(grants(workerId, syncDlqId)).toContain('sqs:SendMessage');
    expect(grants(workerId, syncQueueId)).toEqual(
      expect.arrayContaining(['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage']),
    );
    expect(grants(discoveryId, syncQueueId)).toContain('sqs:SendMessage');
    expect(grants(discoveryId, discoveryQueueId)).toContain('sqs:SendMessage');
  });
});

describe('fleet sync triggers', () => {
  it('schedules discovery with one target per configured account', () => {
    // Act
    const scheduleRules = Object.values(resourcesOfType(template, 'AWS::Events::Rule')).filter(
      (rule) => rule.Properties?.ScheduleExpression !== undefined,
    );
    const targets = (scheduleRules[0]?.Properties?.Targets ?? []) as { Arn: unknown; Input: string }[];

    // Assess
    expect(scheduleRules).toHaveLength(1);
    expect(scheduleRules[0]?.Properties?.ScheduleExpression).toBe('rate(1 day)');
    expect(targets.map((target) => JSON.parse(target.Input))).toEqual(FLEET_ACCOUNTS.map((account) => ({ account })));
    for (const target of targets) expect(target.Arn).toEqual({ 'Fn::GetAtt': [discoveryQueueId, 'Arn'] });
  });

  it('spreads more than five accounts over several rules, since EventBridge allows five targets per rule', () => {
    // Prepare
    const accounts = Array.from({ length: 7 }, (_, index) => `100000000${index}-00001`);
    const { template: large } = buildStack({ fleetAccounts: accounts });

    // Act
    const scheduleRules = Object.values(resourcesOfType(large, 'AWS::Events::Rule')).filter(
      (rule) => rule.Properties?.ScheduleExpression !== undefined,
    );
    const targets = scheduleRules.map((rule) => (rule.Properties?.Targets ?? []) as { Input: string }[]);

    // Assess
    expect(targets.map((ruleTargets) => ruleTargets.length).sort()).toEqual([2, 5]);
    expect(
      targets
        .flat()
        .map((target) => JSON.parse(target.Input).account)
        .sort(),
    ).toEqual(accounts);
  });

  it('takes the schedule and a JSON array of accounts from context', () => {
    // Prepare
    const { template: custom } = buildStack({ fleetAccounts: ['1111111111-00001'], syncSchedule: 'cron(0 3 * * ? *)' });

    // Act + Assess
    custom.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(0 3 * * ? *)',
      Targets: [Match.objectLike({ Input: JSON.stringify({ account: '1111111111-00001' }) })],
    });
  });

  it('creates no schedule, and warns, when no account is configured', () => {
    // Prepare
    const { template: bare, stack: bareStack } = buildStack({});

    // Act
    const scheduleRules = Object.values(resourcesOfType(bare, 'AWS::Events::Rule')).filter(
      (rule) => rule.Properties?.ScheduleExpression !== undefined,
    );

    // Assess
    expect(scheduleRules).toHaveLength(0);
    Annotations.fromStack(bareStack).hasWarning('/FotaHistoryStack/FleetSync', Match.stringLikeRegexp('fleetAccounts'));
    expect(
      Annotations.fromStack(stack).findWarning('/FotaHistoryStack/FleetSync', Match.stringLikeRegexp('fleetAccounts')),
    ).toHaveLength(0);
  });

  it('forwards FOTA Device Sync Requested events detail to the sync queue', () => {
    // Act + Assess
    expect(FLEET_SYNC_EVENT_SOURCE).toBe('thingspace-fota-history');
    expect(DEVICE_SYNC_REQUESTED_DETAIL_TYPE).toBe('FOTA Device Sync Requested');
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['thingspace-fota-history'], 'detail-type': ['FOTA Device Sync Requested'] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [syncQueueId, 'Arn'] }, InputPath: '$.detail' })],
    });
  });

  it('outputs the direct-invoke function name', () => {
    // Act + Assess
    template.hasOutput('HistoryInvokeFunctionName', {
      Value: { Ref: logicalIdFor(stack, stack.historyInvoke.handler.lambda) },
    });
  });
});

describe('fleet sync alarms', () => {
  it("notifies the operator's SNS topic from every alarm of the stack when one is configured", () => {
    // Prepare
    const topicArn = 'arn:aws:sns:us-east-1:123456789012:fota-history-alarms';

    // Act
    const { template: withTopic } = buildStack({ fleetAccounts: FLEET_ACCOUNTS.join(','), alarmTopicArn: topicArn });

    // Assess
    const alarms = Object.values(resourcesOfType(withTopic, 'AWS::CloudWatch::Alarm'));
    // 7 functions x (errors, throttles), API 5XX, sync queue age, 4 DLQs (sync, discovery, event targets,
    // change events), dropped recursions.
    expect(alarms).toHaveLength(21);
    for (const alarm of alarms) expect(alarm.Properties?.AlarmActions).toEqual([topicArn]);
  });

  it('has no alarm action without a topic, and refuses something that is not a topic ARN', () => {
    const alarms = Object.values(resourcesOfType(template, 'AWS::CloudWatch::Alarm'));
    for (const alarm of alarms) expect(alarm.Properties?.AlarmActions).toBeUndefined();
    expect(() => buildStack({ alarmTopicArn: 'ops@example.com' })).toThrow(/alarmTopicArn must be an SNS topic ARN/);
  });
});
