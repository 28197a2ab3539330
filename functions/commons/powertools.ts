import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { logFormatterOverride } from './log-formatter';

/**
 * Powertools, configured once for every function. Service name, namespace, log level and whether
 * tracing and metrics are on come from the POWERTOOLS_* environment the stack (or `npm start`) sets.
 */
const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'fota-history';

export const logger = new Logger({ serviceName, logFormatter: logFormatterOverride() });
export const metrics = new Metrics({
  serviceName,
  // Its own warnings go through the structured logger and its level, not straight to the console.
  logger,
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'FotaHistory',
});
export const tracer = new Tracer({ serviceName });
