/** The CDK app: the stack built from the deployment's context, checked by cdk-nag's AWS Solutions rules. */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type FotaHistoryConfig, FotaHistoryConfigError, readFotaHistoryConfig } from '../lib/fota-history-config';
import { FotaHistoryStack } from '../lib/fota-history-stack';

const app = new App();
let config: FotaHistoryConfig;
try {
  config = readFotaHistoryConfig(app.node);
} catch (error) {
  // One line that says what to fix, not a stack trace from inside the CDK app.
  if (!(error instanceof FotaHistoryConfigError)) throw error;
  process.stderr.write(`fota-history: ${error.message}\n`);
  process.exit(1);
}
new FotaHistoryStack(app, 'FotaHistoryStack', {
  description: 'ThingSpace FOTA device upgrade history, archived beyond the six months ThingSpace keeps',
  config,
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
