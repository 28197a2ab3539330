/**
 * The pass's result as the lines printed at the end, whatever the display was. One function over the
 * result object, so what a pass reports is decided in one place.
 */
import { ASK_REASONS, SKIP_REASONS } from '../domain/fleet-selection';
import type { SyncPassResult } from './sync-pass';

export function formatSummary(result: SyncPassResult): string {
  const rate = result.synced / Math.max(result.seconds, 0.001);
  const skipped = Object.values(result.skipped).reduce((sum, count) => sum + (count ?? 0), 0);
  const lines = [
    `${result.account}: ${result.interrupted ? 'interrupted: ' : ''}${result.listed} devices listed, ${result.asked} asked, ${skipped} skipped, ${result.synced} synced, ${result.failedCount} failed in ${result.seconds.toFixed(1)} s (${rate.toFixed(1)} devices/s)`,
    `  asked:   ${breakdown(result.askedByReason, ASK_REASONS)}`,
    `  skipped: ${breakdown(result.skipped, SKIP_REASONS)}`,
  ];
  if (result.listingError) lines.push(`  the account's device list failed: ${result.listingError}`);
  for (const { device, errorCode } of result.failed) lines.push(`  failed: ${device.deviceId} ${errorCode}`);
  if (result.failedCount > result.failed.length) {
    const byCode = Object.entries(result.failedByCode)
      .map(([code, count]) => `${code} ${count}`)
      .join(', ');
    lines.push(`  ... and ${result.failedCount - result.failed.length} more (all failures by errorCode: ${byCode})`);
  }
  return `${lines.join('\n')}\n`;
}

/** `never-synced 3, list-changed 1` (reasons with a count only, in the rules' order), or `none`. */
function breakdown(counts: Record<string, number | undefined>, order: readonly string[]): string {
  const parts = order.filter((reason) => (counts[reason] ?? 0) > 0).map((reason) => `${reason} ${counts[reason]}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}
