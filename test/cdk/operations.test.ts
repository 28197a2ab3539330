import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildStack, FLEET_ACCOUNTS, logicalIdFor, resourcesOfType } from './stack-template';

// Prepare (once per file)
const { template, stack } = buildStack();
const functions = resourcesOfType(template, 'AWS::Lambda::Function');
const alarms = Object.values(resourcesOfType(template, 'AWS::CloudWatch::Alarm')).map(
  (alarm) => alarm.Properties ?? {},
);
const discoveryId = logicalIdFor(stack, stack.fleetSync.discovery.lambda);
const invokeId = logicalIdFor(stack, stack.historyInvoke.handler.lambda);

function alarmsOn(metricName: string): Record<string, unknown>[] {
  return alarms.filter((alarm) => alarm.MetricName === metricName);
}

function functionRefOf(alarm: Record<string, unknown>): string {
  const dimension = (alarm.Dimensions as Array<{ Name: string; Value: { Ref?: string } }>).find(
    (d) => d.Name === 'FunctionName',
  );
  return dimension?.Value.Ref ?? '';
}

describe('discovery that AWS does not cut off', () => {
  it('allows the recursive loop on the discovery function only, and alarms on dropped recursions', () => {
    // Act
    const allowed = Object.entries(functions)
      .filter(([, fn]) => fn.Properties?.RecursiveLoop === 'Allow')
      .map(([id]) => id);
    const dropped = alarmsOn('RecursiveInvocationsDropped');

    // Assess
    expect(allowed).toEqual([discoveryId]);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatchObject({
      Namespace: 'AWS/Lambda',
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(functionRefOf(dropped[0]!)).toBe(discoveryId);
  });
});

describe('operator alarms', () => {
  it("alarms on every function's errors and throttles", () => {
    // Act
    const errors = alarmsOn('Errors').map(functionRefOf).sort();
    const throttles = alarmsOn('Throttles').map(functionRefOf).sort();

    // Assess
    expect(errors).toEqual(Object.keys(functions).sort());
    expect(throttles).toEqual(Object.keys(functions).sort());
  });

  it('alarms on API 5XX and on a sync queue message older than 12 hours', () => {
    // Act
    const api5xx = alarmsOn('5XXError');
    const age = alarmsOn('ApproximateAgeOfOldestMessage');

    // Assess
    expect(api5xx).toHaveLength(1);
    expect(api5xx[0]).toMatchObject({ Namespace: 'AWS/ApiGateway', Threshold: 0 });
    expect(age).toHaveLength(1);
    expect(age[0]).toMatchObject({ Namespace: 'AWS/SQS', Threshold: 12 * 3600, Statistic: 'Maximum' });
    expect(JSON.stringify(age[0]?.Dimensions)).toContain(logicalIdFor(stack, stack.fleetSync.syncQueue.queue));
  });

  it('alarms on the dead-letter queue of the EventBridge targets as on the two work DLQs', () => {
    // Act
    const dlqAlarms = alarmsOn('ApproximateNumberOfMessagesVisible').map((alarm) => JSON.stringify(alarm.Dimensions));

    // Assess
    // Sync, discovery, the EventBridge targets' and the change-event publisher's.
    expect(dlqAlarms).toHaveLength(4);
    expect(
      dlqAlarms.some((dimensions) =>
        dimensions.includes(logicalIdFor(stack, stack.fleetSync.eventTargetDeadLetterQueue)),
      ),
    ).toBe(true);
    expect(
      dlqAlarms.some((dimensions) => dimensions.includes(logicalIdFor(stack, stack.changeEvents.deadLetterQueue))),
    ).toBe(true);
  });
});

describe('dashboard', () => {
  it('shows API latency and 5XX, fleet sync throughput and failures, ThingSpace failures by kind and queue depths', () => {
    // Act
    const dashboards = Object.values(resourcesOfType(template, 'AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboards[0]?.Properties?.DashboardBody);

    // Assess
    expect(dashboards).toHaveLength(1);
    for (const text of [
      'API latency',
      'Latency',
      '5XXError',
      'DevicesSynced',
      'DeviceSyncFailures',
      'DevicesAsked',
      'DevicesSkipped',
      'UpstreamFailures',
      'ApproximateNumberOfMessagesVisible',
      'ApproximateAgeOfOldestMessage',
    ]) {
      expect(body, text).toContain(text);
    }
    for (const kind of ['unavailable', 'timeout', 'auth', 'malformed', 'rejected'])
      expect(body).toMatch(new RegExp(`kind\\W+${kind}\\W`));
  });
});

describe('EventBridge rule targets', () => {
  it('give every target a dead-letter queue and a retry policy', () => {
    // Act
    const rules = Object.values(resourcesOfType(template, 'AWS::Events::Rule'));
    const targets = rules.flatMap((rule) => rule.Properties?.Targets as Array<Record<string, unknown>>);
    const dlqArn = { 'Fn::GetAtt': [logicalIdFor(stack, stack.fleetSync.eventTargetDeadLetterQueue), 'Arn'] };

    // Assess: one schedule target per account and the device sync request rule.
    expect(targets).toHaveLength(FLEET_ACCOUNTS.length + 1);
    for (const target of targets) {
      expect(target.DeadLetterConfig).toEqual({ Arn: dlqArn });
      expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 24 * 3600 });
    }
  });
});

describe('direct-invoke concurrency bound', () => {
  it('reserves 10 concurrent executions by default, and what invokeReservedConcurrency says', () => {
    // Prepare
    const { template: custom, stack: customStack } = buildStack({ invokeReservedConcurrency: '25' });

    // Act
    const fallback = functions[invokeId]?.Properties?.ReservedConcurrentExecutions;
    const configured = resourcesOfType(custom, 'AWS::Lambda::Function')[
      logicalIdFor(customStack, customStack.historyInvoke.handler.lambda)
    ]?.Properties?.ReservedConcurrentExecutions;

    // Assess
    expect(fallback).toBe(10);
    expect(configured).toBe(25);
    expect(() => buildStack({ invokeReservedConcurrency: '0' })).toThrow(
      /invokeReservedConcurrency must be a positive integer/,
    );
  });
});

describe('syncSchedule validated at synth', () => {
  it.each([
    ['rate(0 days)', /a rate must be at least 1/],
    ['rate(2 day)', /use "2 days"/],
    ['rate(1 days)', /use "1 day"/],
    ['every day', /expected rate\(\.\.\.\) or cron\(\.\.\.\)/],
    ['cron(0 3 * * *)', /a cron expression has 6 fields/],
    ['cron(0 3 * * * *)', /exactly one of day-of-month and day-of-week must be "\?"/],
  ])('refuses %s with a clear message', (schedule, problem) => {
    expect(() => buildStack({ syncSchedule: schedule })).toThrow(problem);
  });

  it.each(['rate(1 day)', 'rate(12 hours)', 'cron(0 3 * * ? *)', 'cron(15 2 ? * MON-FRI *)'])(
    'accepts %s',
    (schedule) => {
      expect(() => buildStack({ fleetAccounts: FLEET_ACCOUNTS.join(','), syncSchedule: schedule })).not.toThrow();
    },
  );

  it('stops the CDK app with one line on stderr and no stack trace', () => {
    // Act: the app as `cdk synth -c syncSchedule=...` runs it (context arrives in CDK_CONTEXT_JSON).
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, '..', '..', 'bin', 'app.ts')],
      {
        env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ syncSchedule: 'rate(5 minute)' }) },
        encoding: 'utf8',
      },
    );

    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      'fota-history: context syncSchedule "rate(5 minute)" is not an EventBridge schedule: use "5 minutes" (e.g. "rate(1 day)", "rate(12 hours)", "cron(0 3 * * ? *)")',
    ]);
  });
});

describe('re-attaching a retained table', () => {
  it('uses the table named by existingTableName and creates none', () => {
    // Prepare
    const streamArn =
      'arn:aws:dynamodb:us-east-1:123456789012:table/FotaHistoryStack-HistoryTable1234-ABCD/stream/2026-11-01T00:00:00.000';
    const { template: attached } = buildStack({
      fleetAccounts: FLEET_ACCOUNTS.join(','),
      existingTableName: 'FotaHistoryStack-HistoryTable1234-ABCD',
      existingTableStreamArn: streamArn,
    });

    // Act
    const tables = resourcesOfType(attached, 'AWS::DynamoDB::Table');
    const envs = Object.values(resourcesOfType(attached, 'AWS::Lambda::Function')).map(
      (fn) => (fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables.TABLE_NAME,
    );
    const streamSources = Object.values(resourcesOfType(attached, 'AWS::Lambda::EventSourceMapping'))
      .map((mapping) => mapping.Properties?.EventSourceArn)
      .filter((arn) => typeof arn === 'string' && arn.includes('/stream/'));
    const policies = JSON.stringify(resourcesOfType(attached, 'AWS::IAM::Policy'));

    // Assess
    expect(tables).toEqual({});
    expect(new Set(envs.filter((name) => name !== undefined))).toEqual(
      new Set(['FotaHistoryStack-HistoryTable1234-ABCD']),
    );
    expect(policies).toContain(':table/FotaHistoryStack-HistoryTable1234-ABCD');
    // Change events keep reading the retained table's stream.
    expect(streamSources).toEqual([streamArn]);
    expect(() => buildStack({ existingTableName: 'a b', existingTableStreamArn: streamArn })).toThrow(
      /existingTableName must be a DynamoDB table name/,
    );
    expect(() => buildStack({ existingTableName: 'FotaHistoryStack-HistoryTable1234-ABCD' })).toThrow(
      /existingTableStreamArn is required with existingTableName/,
    );
  });
});

describe('a secret under a customer managed KMS key', () => {
  const keyArn = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

  it('grants kms:Decrypt on that key, through Secrets Manager only, to every function that reads the secret', () => {
    // Prepare
    const { template: withKey } = buildStack({
      fleetAccounts: FLEET_ACCOUNTS.join(','),
      thingSpaceSecretKmsKeyArn: keyArn,
    });

    // Act
    const decrypts = Object.values(resourcesOfType(withKey, 'AWS::IAM::Policy'))
      .flatMap(
        (policy) => (policy.Properties?.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement,
      )
      .filter((statement) => [statement.Action].flat().includes('kms:Decrypt'));

    // Assess
    // API, direct invoke, sync worker, discovery and the callback listener read the secret.
    expect(decrypts).toHaveLength(5);
    for (const statement of decrypts) {
      expect(statement.Action).toBe('kms:Decrypt');
      expect(statement.Resource).toBe(keyArn);
      expect(JSON.stringify(statement.Condition)).toContain('kms:ViaService');
    }
  });

  it('grants no KMS action without it, and refuses something that is not a key ARN', () => {
    expect(JSON.stringify(resourcesOfType(template, 'AWS::IAM::Policy'))).not.toContain('kms:');
    expect(() => buildStack({ thingSpaceSecretKmsKeyArn: 'alias/mine' })).toThrow(
      /thingSpaceSecretKmsKeyArn must be a KMS key ARN/,
    );
  });
});

describe('fullResyncDays', () => {
  it('reaches discovery as FULL_RESYNC_DAYS, and is refused above 30', () => {
    // Prepare
    const { template: custom, stack: customStack } = buildStack({
      fleetAccounts: FLEET_ACCOUNTS.join(','),
      fullResyncDays: '14',
    });

    // Act
    const env = (
      resourcesOfType(custom, 'AWS::Lambda::Function')[
        logicalIdFor(customStack, customStack.fleetSync.discovery.lambda)
      ]?.Properties?.Environment as { Variables: Record<string, unknown> }
    ).Variables;

    // Assess
    expect(env.FULL_RESYNC_DAYS).toBe('14');
    expect(() => buildStack({ fullResyncDays: '31' })).toThrow(
      'context fullResyncDays must be a whole number of days from 1 to 30, got "31"',
    );
  });
});
