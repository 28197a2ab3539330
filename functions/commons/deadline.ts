/**
 * The time (epoch ms) by which upstream retries must stop so that the function still has `reserveMs`
 * to answer (archive writes, the response) before Lambda, or API Gateway's 29 s, cuts it off.
 */
import type { Context } from 'aws-lambda';

export function deadlineFor(context: Pick<Context, 'getRemainingTimeInMillis'>, reserveMs: number): number {
  return Date.now() + Math.max(0, context.getRemainingTimeInMillis() - reserveMs);
}
