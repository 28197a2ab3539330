import { describe, expect, it } from 'vitest';
import { buildStack, resourcesOfType } from './stack-template';

// Prepare (once per file)
const { template } = buildStack();
const functions = resourcesOfType(template, 'AWS::Lambda::Function');
const policies = Object.values(resourcesOfType(template, 'AWS::IAM::Policy'));

interface Statement {
  Action: string | string[];
  Resource: unknown;
}
const statements = (): Statement[] =>
  policies.flatMap((policy) => (policy.Properties?.PolicyDocument as { Statement: Statement[] }).Statement);
const actionsOf = (statement: Statement): string[] => [statement.Action].flat();
/** The archive routes' function reads the table only and never calls ThingSpace. */
const isArchiveFunction = (id: string): boolean => id.includes('GetArchive');
const readsArchiveTokenKey = (statement: Statement): boolean => JSON.stringify(statement.Resource).includes('ArchiveTokenKey');

function functionEnvironment(fragment: string): Record<string, unknown> {
  const entry = Object.entries(functions).find(([id]) => id.includes(fragment));
  if (!entry) throw new Error(`no function matching ${fragment}`);
  return (entry[1].Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
}

describe('service functions', () => {
  it('deploys five functions on Node.js 22 or newer, arm64, traced, with an explicit log group', () => {
    // Act
    const properties = Object.values(functions).map((fn) => fn.Properties ?? {});

    // Assess
    expect(properties).toHaveLength(5);
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

  it('sets the Powertools, source map, table and ThingSpace environment on every function that calls ThingSpace', () => {
    // Act
    const environments = Object.entries(functions)
      .filter(([id]) => !isArchiveFunction(id))
      .map(([, fn]) => (fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables);

    // Assess
    for (const env of environments) {
      expect(env).toMatchObject({
        NODE_OPTIONS: '--enable-source-maps',
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
    expect(discovery.SYNC_QUEUE_URL).toEqual({ Ref: expect.stringMatching(/^FleetSyncSyncQueue[0-9A-F]+$/) });
    expect(discovery.DISCOVERY_QUEUE_URL).toEqual({ Ref: expect.stringMatching(/^FleetSyncDiscoveryQueue[0-9A-F]+$/) });
    expect(discovery.DISCOVERY_DLQ_URL).toEqual({ Ref: expect.stringMatching(/^FleetSyncDiscoveryQueueDeadLetterQueue/) });
  });

  it('scopes the secret read policy to exactly the one ThingSpace secret', () => {
    // Act
    const secretStatements = statements().filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('secretsmanager:')) && !readsArchiveTokenKey(statement),
    );

    // Assess
    expect(secretStatements).toHaveLength(4);
    for (const statement of secretStatements) {
      expect(actionsOf(statement).sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
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
      .filter((statement) => actionsOf(statement).includes('secretsmanager:GetSecretValue') && !readsArchiveTokenKey(statement))
      .map((statement) => statement.Resource);
    const envs = Object.entries(resourcesOfType(withArn, 'AWS::Lambda::Function'))
      .filter(([id]) => !isArchiveFunction(id))
      .map(([, fn]) => (fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables.THINGSPACE_SECRET_ID);

    // Assess
    expect(new Set(secretResources.map((resource) => JSON.stringify(resource)))).toEqual(new Set([JSON.stringify(arn)]));
    expect(new Set(envs)).toEqual(new Set([arn]));
  });

  it('grants only item operations on the table itself, no Scan, delete or index wildcard', () => {
    // Act
    const tableStatements = statements().filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('dynamodb:')) && actionsOf(statement).length > 1,
    );

    // Assess
    expect(tableStatements).toHaveLength(4);
    for (const statement of tableStatements) {
      expect(actionsOf(statement).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query']);
      expect(JSON.stringify(statement.Resource)).not.toContain('*');
    }
  });

  it('allows a wildcard resource only for the X-Ray actions that cannot be scoped', () => {
    // Act
    const wildcardStatements = statements().filter((statement) => JSON.stringify(statement.Resource).includes('*'));

    // Assess
    expect(wildcardStatements.length).toBeGreaterThan(0);
    for (const statement of wildcardStatements) {
      expect(actionsOf(statement).sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    }
  });

  it('gives each role its own log group write access instead of the AWS managed basic execution policy', () => {
    // Act
    const lambdaRoles = Object.values(resourcesOfType(template, 'AWS::IAM::Role')).filter((role) =>
      JSON.stringify(role.Properties?.AssumeRolePolicyDocument).includes('lambda.amazonaws.com'),
    );

    // Assess
    expect(lambdaRoles).toHaveLength(5);
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
    for (const index of ['byUpgradeId', 'byFirmwareTo', 'byFirmwareFrom', 'byStatus', 'byDate']) expect(resources).toContain(`/index/${index}`);
    expect(resources).not.toContain('*');
  });
});
