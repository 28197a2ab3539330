import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildStack, logicalIdOf, resourcesOfType } from './stack-template';

// Prepare (once per file)
const { template } = buildStack();

describe('change events from the table stream', () => {
  it('streams both images of every item change from the history table', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
  });

  it('feeds the stream to the publisher with item failures, bisection, retries and a dead-letter queue', () => {
    // Act
    const tableId = logicalIdOf(template, 'AWS::DynamoDB::Table', 'HistoryTable');
    const publisherId = logicalIdOf(template, 'AWS::Lambda::Function', 'ChangeEventsPublisher');
    const dlqId = logicalIdOf(template, 'AWS::SQS::Queue', 'ChangeEventsDeadLetterQueue');

    // Assess
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [tableId, 'StreamArn'] },
      FunctionName: { Ref: publisherId },
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: Match.anyValue(),
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlqId, 'Arn'] } } },
      FilterCriteria: {
        Filters: [
          {
            Pattern: JSON.stringify({
              eventName: ['INSERT', 'MODIFY'],
              dynamodb: { NewImage: { type: { S: ['upgrade'] } } },
            }),
          },
        ],
      },
    });
  });

  it('alarms as soon as the publisher dead-letters a batch', () => {
    const dlqId = logicalIdOf(template, 'AWS::SQS::Queue', 'ChangeEventsDeadLetterQueue');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('publishes to the default bus unless a bus is named, and to the named one otherwise', () => {
    // Prepare
    const { template: named } = buildStack({ eventBusName: 'fota' });
    const arn = 'arn:aws:events:us-east-1:111122223333:event-bus/central';
    const { template: byArn } = buildStack({ eventBusArn: arn });
    const busOf = (t: typeof template) => {
      const [publisher] = Object.entries(resourcesOfType(t, 'AWS::Lambda::Function')).filter(([id]) =>
        id.startsWith('ChangeEventsPublisher'),
      );
      return JSON.stringify(
        (publisher?.[1].Properties?.Environment as { Variables: Record<string, unknown> }).Variables.EVENT_BUS_NAME,
      );
    };

    // Assess
    expect(busOf(template)).toContain(':event-bus/default');
    expect(busOf(named)).toContain(':event-bus/fota');
    expect(busOf(byArn)).toBe(JSON.stringify(arn));
    expect(() => buildStack({ eventBusArn: 'central' })).toThrow(/eventBusArn must be an EventBridge event bus ARN/);
  });
});

describe('ThingSpace callback listener', () => {
  it('serves POST /callbacks/thingspace without IAM, through its own function', () => {
    // Act
    const resourceId = logicalIdOf(template, 'AWS::ApiGateway::Resource', 'callbacksthingspace');
    const handlerId = logicalIdOf(template, 'AWS::Lambda::Function', 'CallbackListenerHandler');

    // Assess
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      AuthorizationType: 'NONE',
      ResourceId: { Ref: resourceId },
      Integration: Match.objectLike({
        Type: 'AWS_PROXY',
        Uri: Match.objectLike({
          'Fn::Join': Match.arrayWith([Match.arrayWith([{ 'Fn::GetAtt': [handlerId, 'Arn'] }])]),
        }),
      }),
    });
  });

  it('is the only method of the API without IAM', () => {
    const methods = Object.values(resourcesOfType(template, 'AWS::ApiGateway::Method'));
    const withoutIam = methods.filter((method) => method.Properties?.AuthorizationType !== 'AWS_IAM');
    expect(methods.length).toBeGreaterThan(1);
    expect(withoutIam.map((method) => method.Properties?.ResourceId)).toEqual([
      { Ref: logicalIdOf(template, 'AWS::ApiGateway::Resource', 'callbacksthingspace') },
    ]);
  });

  it('throttles the callback route below the stage limits, from context', () => {
    // Prepare
    const { template: custom } = buildStack({ callbackThrottleRateLimit: 3, callbackThrottleBurstLimit: '4' });
    const callbackSetting = (t: typeof template) =>
      (
        Object.values(resourcesOfType(t, 'AWS::ApiGateway::Stage'))[0]?.Properties?.MethodSettings as Array<
          Record<string, unknown>
        >
      ).find((setting) => setting.HttpMethod === 'POST');

    // Assess
    expect(callbackSetting(template)).toEqual({
      HttpMethod: 'POST',
      ResourcePath: '/~1callbacks~1thingspace',
      ThrottlingRateLimit: 10,
      ThrottlingBurstLimit: 20,
    });
    expect(callbackSetting(custom)).toMatchObject({ ThrottlingRateLimit: 3, ThrottlingBurstLimit: 4 });
  });

  it('lets the listener read the secret and send to the sync queue, and tells it both', () => {
    // Act
    const [entry] = Object.entries(resourcesOfType(template, 'AWS::Lambda::Function')).filter(([id]) =>
      id.startsWith('CallbackListenerHandler'),
    );
    const env = (entry?.[1].Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
    const roleId = (entry?.[1].Properties?.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const policy = Object.values(resourcesOfType(template, 'AWS::IAM::Policy')).find((p) =>
      JSON.stringify(p.Properties?.Roles).includes(roleId),
    );
    const actions = JSON.stringify(policy?.Properties?.PolicyDocument);

    // Assess
    expect(env.SYNC_QUEUE_URL).toEqual({ Ref: expect.stringMatching(/^FleetSyncSyncQueue[0-9A-F]+$/) });
    expect(env.THINGSPACE_SECRET_ID).toBe('thingspace-fota-history/credentials');
    expect(env.TABLE_NAME).toBeUndefined();
    expect(actions).toContain('secretsmanager:GetSecretValue');
    expect(actions).toContain('sqs:SendMessage');
    expect(actions).not.toContain('dynamodb:');
  });

  it('outputs the listener URL to register with ThingSpace', () => {
    const outputs = template.findOutputs('CallbackListenerUrl');
    expect(JSON.stringify(outputs)).toContain('/callbacks/thingspace');
  });
});
