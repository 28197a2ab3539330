/** The archive routes' metrics. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { metrics } from './powertools';

export type ArchiveRoute = 'device' | 'upgrades';

/** Per route: one query, how long it took, and how many records it returned. */
export function recordArchiveMetrics(route: ArchiveRoute, latencyMs: number, records: number, index?: string): void {
  metrics.addDimension('route', route);
  if (index) metrics.addMetadata('index', index);
  metrics.addMetric('ArchiveQueries', MetricUnit.Count, 1);
  metrics.addMetric('ArchiveQueryLatency', MetricUnit.Milliseconds, latencyMs);
  metrics.addMetric('ArchiveRecordsReturned', MetricUnit.Count, records);
}
