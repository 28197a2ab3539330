import { App, Stack, Validations } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { buildStack } from './stack-template';

function findings(app: App): string[] {
  const report = new AwsSolutionsChecks(app).validateScope(app);
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map(
      (resource) => `${violation.severity} ${violation.ruleName} at ${resource.constructPath}`,
    ),
  );
}

// The first synth also loads aws-cdk-lib and every construct: well past the default 30 s on a busy 2-core
// machine. A ceiling for a slow machine, not a timed assertion.
describe('cdk-nag AwsSolutions', { timeout: 120_000 }, () => {
  it.each([
    ['with fleet accounts', undefined],
    ['without fleet accounts', {}],
    [
      'with a secret ARN',
      { thingSpaceSecretArn: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:ops/ts-AbCdEf' },
    ],
  ])('reports no unacknowledged error or warning %s', (_name, context) => {
    // Prepare
    const { app } = buildStack(context);

    // Act
    const unacknowledged = findings(app);

    // Assess
    expect(unacknowledged).toEqual([]);
  });

  it('lets the app synthesize with the pack registered as a validation plugin, as bin/app.ts does', () => {
    // Prepare
    const { app } = buildStack();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    // Act
    const assembly = app.synth();

    // Assess
    expect(assembly.getStackByName('FotaHistoryStack').template.Resources).toBeDefined();
  });

  it('does flag a finding, so the checks above are not vacuous', () => {
    // Prepare
    const { app, stack } = buildStack();
    new Queue(stack, 'UnencryptedQueueWithoutDlq', { enforceSSL: false });

    // Act
    const introduced = findings(app);

    // Assess
    expect(introduced).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/AwsSolutions-SQS3 at FotaHistoryStack\/UnencryptedQueueWithoutDlq/),
      ]),
    );
  });

  it('fails in-memory synthesis when the plugin finds an error', () => {
    // Prepare
    const app = new App();
    const stack = new Stack(app, 'Offender');
    new Queue(stack, 'QueueWithoutDlq');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    // Act + Assess
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS3/);
  });
});
