/**
 * The metrics of history requests and ThingSpace calls: what the archive gained, ThingSpace's failures by
 * kind, the records dropped.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { RecordsDropped } from '../../adapters/thingspace/client';
import type { ThingSpaceFailure } from '../../domain/thingspace-error';
import type { DeviceHistory } from '../../services/get-device-history';
import { metrics } from './powertools';

/** What the archive gained from one observation, and whether the answer had to come from it alone. */
export function recordHistoryMetrics(history: DeviceHistory): void {
  if (history.archive) {
    metrics.addMetric('UpgradesInserted', MetricUnit.Count, history.archive.inserted);
    metrics.addMetric('UpgradesUpdated', MetricUnit.Count, history.archive.updated);
    // Records DynamoDB refuses for good (served, not archived); the store logs their ids.
    metrics.addMetric('UpgradesNotArchived', MetricUnit.Count, history.archive.skipped);
  }
  if (history.stale) metrics.addMetric('StaleAnswers', MetricUnit.Count, 1);
  if (history.upstreamFailure) recordUpstreamFailure(history.upstreamFailure.failure);
}

/** Metric names and the dimension the dashboard (lib/operations-monitoring.ts) reads. */
export const UPSTREAM_FAILURES_METRIC = 'UpstreamFailures';
export const UPSTREAM_FAILURE_KIND_DIMENSION = 'kind';

/** One ThingSpace call that failed, by kind (unavailable, timeout, auth, malformed, rejected). */
export function recordUpstreamFailure(kind: ThingSpaceFailure): void {
  const single = metrics.singleMetric();
  single.addDimension(UPSTREAM_FAILURE_KIND_DIMENSION, kind);
  single.addMetric(UPSTREAM_FAILURES_METRIC, MetricUnit.Count, 1);
}

/**
 * Records (or device ids) ThingSpace sent that were neither served nor archived: another device's, or
 * breaking the record rules. One metric, UpstreamRecordsDropped, with the reason as its dimension.
 */
export function recordDroppedUpstreamRecords({ dropped }: RecordsDropped): void {
  for (const [reason, count] of Object.entries(dropped)) {
    if (!count) continue;
    const metric = metrics.singleMetric();
    metric.addDimension('reason', reason);
    metric.addMetric('UpstreamRecordsDropped', MetricUnit.Count, count);
  }
}
