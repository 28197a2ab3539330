import { describe, expect, it } from 'vitest';
import { buildStack, resourcesOfType } from './stack-template';

// Prepare (once per file)
const { template } = buildStack();
const functions = resourcesOfType(template, 'AWS::Lambda::Function');
/** The archive routes' function reads the table only and never calls ThingSpace. */
const isArchiveFunction = (id: string): boolean => id.includes('GetArchive');
/**
 * The functions that read and archive history (API, invoke, sync, discovery); the change-event publisher
 * (stream -> EventBridge) and the callback listener (-> sync queue) never touch the table's items, and the
 * archive routes' function only reads it.
 */
const historyFunctions = Object.fromEntries(
  Object.entries(functions).filter(
    ([id]) => !id.startsWith('ChangeEvents') && !id.startsWith('CallbackListener') && !isArchiveFunction(id),
  ),
);
const policies = Object.values(resourcesOfType(template, 'AWS::IAM::Policy'));

interface Statement {
  Action: string | string[];
  Resource: unknown;
}
const statements = (): Statement[] =>
  policies.flatMap((policy) => (policy.Properties?.PolicyDocument as { Statement: Statement[] }).Statement);
const actionsOf = (statement: Statement): string[] => [statement.Action].flat();
const readsArchiveTokenKey = (statement: Statement): boolean =>
  JSON.stringify(statement.Resource).includes('ArchiveTokenKey');

function functionEnvironment(fragment: string): Record<string, unknown> {
  const entry = Object.entries(functions).find(([id]) => id.includes(fragment));
  if (!entry) throw new Error(`no function matching ${fragment}`);
  return (entry[1].Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
}

describe('service functions', () => {
  it('deploys seven functions on Node.js 22 or newer, arm64, traced, with an explicit log group', () => {
    // Act
    const properties = Object.values(functions).map((fn) => fn.Properties ?? {});

    // Assess
    expect(properties).toHaveLength(7);
    expect(Object.keys(historyFunctions)).toHaveLength(4);
    for (const fn of properties) {
      const major = Number(/^nodejs(\d+)\.x$/.exec(String(fn.Runtime))?.[1]);
      expect(major).toBeGreaterThanOrEqual(22);
      expect(fn.Architectures).toEqual(['arm64']);
      expect(fn.TracingConfig).toEqual({ Mode: 'Active' });
      expect(fn.MemorySize).toBe(512);
      expect(fn.LoggingConfig).toMatchObject({ LogGroup: { Ref: expect.stringMatching(/Logs/) } });
      expect(fn.Handler).toBe('index.handler');
    }
  });

  it('gives each function a log group with retention', () => {
    // Act
    const logGroups = resourcesOfType(template, 'AWS::Logs::LogGroup');
    const referenced = Object.values(functions).map(
      (fn) => (fn.Properties?.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref,
    );

    // Assess
    for (const id of referenced) expect(logGroups[id]?.Properties?.RetentionInDays).toBe(30);
  });

  it('sets the Powertools, table and ThingSpace environment on every history function, and no NODE_OPTIONS', () => {
    // Act
    const environments = Object.values(historyFunctions).map(
      (fn) => (fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables,
    );

    // Assess
    for (const env of environments) {
      // --enable-source-maps would parse the whole source map on every cold start; the bundle maps its stacks itself.
      expect(env).not.toHaveProperty('NODE_OPTIONS');
      expect(env).toMatchObject({
        POWERTOOLS_SERVICE_NAME: 'fota-history',
        POWERTOOLS_METRICS_NAMESPACE: 'FotaHistory',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        TABLE_NAME: { Ref: expect.stringMatching(/^HistoryTable/) },
        THINGSPACE_SECRET_ID: 'thingspace-fota-history/credentials',
        THINGSPACE_BASE_URL: 'https://thingspace.verizon.com',
      });
    }
  });

  it('tells the sync worker its DLQ and the discovery both queues and its DLQ', () => {
    // Act
    const worker = functionEnvironment('SyncWorker');
    const discovery = functionEnvironment('Discovery');

    // Assess
    expect(worker.SYNC_DLQ_URL).toEqual({ Ref: expect.stringMatching(/^FleetSyncSyncQueueDeadLetterQueue/) });
    // Its own queue's URL from CDK (for the retry backoff), so AWS_ENDPOINT_URL_SQS and other partitions apply.
    expect(worker.SYNC_QUEUE_URL).toEqual({ Ref: expect.stringMatching(/^FleetSyncSyncQueue[0-9A-F]+$/) });
    expect(discovery.FULL_RESYNC_DAYS).toBe('7');
    expect(discovery.SYNC_QUEUE_URL).toEqual({ Ref: expect.stringMatching(/^FleetSyncSyncQueue[0-9A-F]+$/) });
    expect(discovery.DISCOVERY_QUEUE_URL).toEqual({ Ref: expect.stringMatching(/^FleetSyncDiscoveryQueue[0-9A-F]+$/) });
    expect(discovery.DISCOVERY_DLQ_URL).toEqual({
      Ref: expect.stringMatching(/^FleetSyncDiscoveryQueueDeadLetterQueue/),
    });
  });

  it('scopes the secret read policy to exactly the one ThingSpace secret', () => {
    // Act
    const secretStatements = statements().filter(
      (statement) =>
        actionsOf(statement).some((action) => action.startsWith('secretsmanager:')) && !readsArchiveTokenKey(statement),
    );

    // Assess
    // The four history functions and the callback listener (its credentials are fields of the same secret).
    expect(secretStatements).toHaveLength(5);
    for (const statement of secretStatements) {
      // SecretsProvider calls GetSecretValue only; DescribeSecret (grantRead's extra) is not granted.
      expect(actionsOf(statement).sort()).toEqual(['secretsmanager:GetSecretValue']);
      const resource = JSON.stringify(statement.Resource);
      expect(resource).not.toContain('*');
      expect(resource).toContain(':secret:thingspace-fota-history/credentials-??????');
    }
  });

  it('uses the complete secret ARN from context when given', () => {
    // Prepare
    const arn = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:ops/thingspace-AbCdEf';
    const { template: withArn } = buildStack({ thingSpaceSecretArn: arn });

    // Act
    const secretResources = Object.values(resourcesOfType(withArn, 'AWS::IAM::Policy'))
      .flatMap((policy) => (policy.Properties?.PolicyDocument as { Statement: Statement[] }).Statement)
      .filter(
        (statement) =>
          actionsOf(statement).includes('secretsmanager:GetSecretValue') && !readsArchiveTokenKey(statement),
      )
      .map((statement) => statement.Resource);
    const envs = Object.values(resourcesOfType(withArn, 'AWS::Lambda::Function'))
      .map(
        (fn) => (fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables.THINGSPACE_SECRET_ID,
      )
      .filter((secretId) => secretId !== undefined);

    // Assess
    expect(new Set(secretResources.map((resource) => JSON.stringify(resource)))).toEqual(
      new Set([JSON.stringify(arn)]),
    );
    expect(new Set(envs)).toEqual(new Set([arn]));
  });

  it('grants only item operations on the table itself, no Scan, delete or index wildcard', () => {
    // Act
    // The stream reads (ListStreams, DescribeStream, GetRecords, GetShardIterator) are the publisher's: below.
    const streamActions = [
      'dynamodb:ListStreams',
      'dynamodb:DescribeStream',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
    ];
    const tableStatements = statements().filter(
      (statement) =>
        actionsOf(statement).some((action) => action.startsWith('dynamodb:') && !streamActions.includes(action)) &&
        actionsOf(statement).length > 1,
    );

    // Assess
    expect(tableStatements).toHaveLength(4);
    const actionSets = tableStatements.map((statement) => actionsOf(statement).sort().join(' '));
    // Three functions read and archive history; discovery also batch-reads the sync states of a page.
    expect(actionSets.sort()).toEqual([
      'dynamodb:BatchGetItem dynamodb:GetItem dynamodb:PutItem dynamodb:Query',
      'dynamodb:GetItem dynamodb:PutItem dynamodb:Query',
      'dynamodb:GetItem dynamodb:PutItem dynamodb:Query',
      'dynamodb:GetItem dynamodb:PutItem dynamodb:Query',
    ]);
    for (const statement of tableStatements) expect(JSON.stringify(statement.Resource)).not.toContain('*');
  });

  it('allows a wildcard resource only for the X-Ray actions and ListStreams, which cannot be scoped', () => {
    // Act
    const wildcardStatements = statements().filter((statement) => JSON.stringify(statement.Resource).includes('*'));

    // Assess
    expect(wildcardStatements.length).toBeGreaterThan(0);
    for (const statement of wildcardStatements) {
      expect([['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], ['dynamodb:ListStreams']]).toContainEqual(
        actionsOf(statement).sort(),
      );
    }
  });

  it('lets only the change-event publisher read the table stream, and put events on the bus', () => {
    // Act
    const streamStatements = statements().filter((statement) => actionsOf(statement).includes('dynamodb:GetRecords'));
    const putEvents = statements().filter((statement) => actionsOf(statement).includes('events:PutEvents'));

    // Assess
    expect(streamStatements).toHaveLength(1);
    expect(JSON.stringify(streamStatements[0]?.Resource)).toContain('StreamArn');
    expect(putEvents).toHaveLength(1);
    expect(JSON.stringify(putEvents[0]?.Resource)).toContain(':event-bus/default');
  });

  it('gives each role its own log group write access instead of the AWS managed basic execution policy', () => {
    // Act
    const lambdaRoles = Object.values(resourcesOfType(template, 'AWS::IAM::Role')).filter((role) =>
      JSON.stringify(role.Properties?.AssumeRolePolicyDocument).includes('lambda.amazonaws.com'),
    );

    // Assess
    expect(lambdaRoles).toHaveLength(7);
    for (const role of lambdaRoles) expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
  });

  it('gives the archive function Query on the table and its named indexes only, its token key, and no ThingSpace access', () => {
    // Act
    const [archive] = Object.entries(functions).filter(([id]) => isArchiveFunction(id));
    const env = (archive?.[1].Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
    const queryOnly = statements().filter((statement) => actionsOf(statement).join() === 'dynamodb:Query');

    // Assess
    expect(env.TABLE_NAME).toEqual({ Ref: expect.stringMatching(/^HistoryTable/) });
    expect(env.ARCHIVE_TOKEN_SECRET_ID).toEqual({ Ref: expect.stringMatching(/^HistoryApiArchiveTokenKey/) });
    expect(env).not.toHaveProperty('THINGSPACE_SECRET_ID');
    expect(queryOnly).toHaveLength(1);
    const resources = JSON.stringify(queryOnly[0]?.Resource);
    for (const index of ['byUpgradeId', 'byFirmwareTo', 'byFirmwareFrom', 'byStatus', 'byDate'])
      expect(resources).toContain(`/index/${index}`);
    expect(resources).not.toContain('*');
  });
});
