import type { SyncPassResult } from './sync-pass';

/**
 * The pass's result as the lines printed at the end, whatever the display was. One function over the
 * result object, so what a pass reports is decided in one place.
 */
export function formatSummary(result: SyncPassResult): string {
  const rate = result.synced / Math.max(result.seconds, 0.001);
  const lines = [
    `${result.account}: ${result.interrupted ? 'interrupted: ' : ''}${result.discovered} devices listed, ${result.synced} synced, ${result.failed.length} failed in ${result.seconds.toFixed(1)} s (${rate.toFixed(1)} devices/s)`,
  ];
  if (result.listingError) lines.push(`  the account's device list failed: ${result.listingError}`);
  for (const { device, errorCode } of result.failed) lines.push(`  failed: ${device.deviceId} ${errorCode}`);
  return `${lines.join('\n')}\n`;
}
