/**
 * The Powertools logger, metrics and tracer every handler uses, and how a run outside Lambda configures
 * them.
 */
import { type LogFormatter, Logger } from '@aws-lambda-powertools/logger';
import type { ConstructorOptions } from '@aws-lambda-powertools/logger/types';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { installSourceMappedStacks } from './source-mapped-stacks';

// Here because every handler loads this module before it logs anything.
installSourceMappedStacks();

type MetricsOptions = NonNullable<ConstructorParameters<typeof Metrics>[0]>;

/**
 * Metrics that a run outside Lambda can switch off by an option: Powertools reads "disabled" only from
 * POWERTOOLS_METRICS_DISABLED / POWERTOOLS_DEV, and a local run must not print EMF blobs on stdout.
 */
class ServiceMetrics extends Metrics {
  constructor(private readonly settings: MetricsOptions & { publishing: boolean }) {
    super(settings);
  }

  override publishStoredMetrics(): this {
    if (this.settings.publishing) return super.publishStoredMetrics();
    this.clearMetrics();
    this.clearDimensions();
    this.clearMetadata();
    return this;
  }

  override singleMetric(): Metrics {
    if (this.settings.publishing) return super.singleMetric();
    return new ServiceMetrics({ ...this.settings, singleMetric: true });
  }
}

const SERVICE_NAME = 'fota-history';
const METRICS_NAMESPACE = 'FotaHistory';

/**
 * Powertools, one set per execution environment, under the service name and namespace the stack also
 * sets (lib/service-function.ts). Deployed, each instance reads the rest of its POWERTOOLS_* environment
 * itself (the log level from context `logLevel`); a run outside Lambda replaces them with
 * configurePowertools before it builds a handler or its dependencies.
 */
export let logger = new Logger({ serviceName: SERVICE_NAME });
export let metrics: Metrics = new ServiceMetrics({
  serviceName: SERVICE_NAME,
  // Its own warnings go through the structured logger and its level, not straight to the console.
  logger,
  namespace: METRICS_NAMESPACE,
  publishing: true,
});
export let tracer = new Tracer({ serviceName: SERVICE_NAME });

export interface PowertoolsSettings {
  logLevel: string;
  /** Lines without Lambda's fields (local/local-logging.ts); Powertools' own format when omitted. */
  logFormatter?: LogFormatter;
}

/**
 * npm start, npm run sync and the bench: the handler's logs at `logLevel`, no metrics printed, no
 * tracing. Call before building handlers or dependencies, which take the instances current then.
 */
export function configurePowertools(settings: PowertoolsSettings): void {
  logger = new Logger({
    serviceName: SERVICE_NAME,
    logLevel: settings.logLevel as ConstructorOptions['logLevel'],
    logFormatter: settings.logFormatter,
  });
  metrics = new ServiceMetrics({ serviceName: SERVICE_NAME, logger, namespace: METRICS_NAMESPACE, publishing: false });
  tracer = new Tracer({ serviceName: SERVICE_NAME, enabled: false });
}
