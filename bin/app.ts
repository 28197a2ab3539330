import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readFotaHistoryConfig } from '../lib/fota-history-config';
import { FotaHistoryStack } from '../lib/fota-history-stack';

const app = new App();
new FotaHistoryStack(app, 'FotaHistoryStack', {
  description: 'ThingSpace FOTA device upgrade history, archived beyond the six months ThingSpace keeps',
  config: readFotaHistoryConfig(app.node),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
