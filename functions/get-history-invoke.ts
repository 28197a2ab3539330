import type { Context } from 'aws-lambda';
import { ErrorCode, isApiError } from '../domain/api-error';
import { parseDeviceKey } from '../domain/device-key';
import type { UpgradeRecord } from '../domain/upgrade-record';
import { getDeviceHistory } from '../services/get-device-history';
import type { HistoryDependencies } from '../services/observe-device';
import { deadlineFor } from './commons/deadline';
import { deployedHistoryDependencies } from './commons/history-dependencies';
import { recordHistoryMetrics } from './commons/history-metrics';
import { logger } from './commons/powertools';
import { withPowertools } from './commons/powertools-handler';

const ANSWER_RESERVE_MS = 3_000;
const STORE_RESERVE_MS = 1_000;

export interface HistoryRequest {
  account?: unknown;
  deviceId?: unknown;
}

/**
 * A failure of a direct invocation. Its name is the errorCode, so a Step Functions Catch or Retry can
 * match on it (`"ErrorEquals": ["INVALID_PARAMETER"]`), and it carries no stack trace.
 */
export class HistoryInvokeError extends Error {
  constructor(
    readonly errorCode: string,
    readonly errorMessage: string,
    readonly statusCode: number,
  ) {
    super(errorMessage);
    this.name = errorCode;
    this.stack = `${errorCode}: ${errorMessage}`;
  }
}

/** Direct invoke / Step Functions: `{account, deviceId}` in, the merged history (ThingSpace's shape) out. */
export function makeHandler(dependencies: () => HistoryDependencies) {
  return withPowertools<HistoryRequest, UpgradeRecord[]>().handler((event, context) =>
    invoke(event, context, dependencies),
  );
}

async function invoke(
  event: HistoryRequest,
  context: Context,
  dependencies: () => HistoryDependencies,
): Promise<UpgradeRecord[]> {
  try {
    const device = parseDeviceKey(event);
    logger.appendKeys({ account: device.account, deviceId: device.deviceId });
    const history = await getDeviceHistory(device, dependencies(), {
      deadline: deadlineFor(context, ANSWER_RESERVE_MS),
      storeDeadline: deadlineFor(context, STORE_RESERVE_MS),
    });
    recordHistoryMetrics(history);
    return history.records;
  } catch (error) {
    if (isApiError(error)) {
      if (error.statusCode >= 500) logger.error('invocation failed', error);
      throw new HistoryInvokeError(error.errorCode, error.errorMessage, error.statusCode);
    }
    logger.error('invocation failed', error as Error);
    throw new HistoryInvokeError(ErrorCode.internalError, 'The service failed to answer; retry later', 500);
  }
}

/** Deployed: one set of dependencies per execution environment, from the environment the stack sets. */
export const handler = makeHandler(deployedHistoryDependencies);
