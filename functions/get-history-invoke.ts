/** Direct invoke / Step Functions: `{account, deviceId}` in, the merged history (ThingSpace's shape) out. */
import type { Context } from 'aws-lambda';
import { parseDeviceKey } from '../domain/device-key';
import type { UpgradeRecord } from '../domain/upgrade-record';
import { getDeviceHistory } from '../services/get-device-history';
import type { HistoryDependencies } from '../services/observe-device';
import { deadlineFor } from './commons/deadline';
import { deployedHistoryDependencies } from './commons/history-dependencies';
import { recordHistoryMetrics } from './commons/history-metrics';
import { invokeFailure } from './commons/invoke-failures';
import { logger } from './commons/powertools';
import { withPowertools } from './commons/powertools-handler';

const ANSWER_RESERVE_MS = 3_000;
const STORE_RESERVE_MS = 1_000;

export interface HistoryRequest {
  account?: unknown;
  deviceId?: unknown;
}

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
    const failure = invokeFailure(error);
    if (failure.logged) logger.error('invocation failed', failure.logged);
    throw failure.thrown;
  }
}

/** Deployed: one set of dependencies per execution environment, from the environment the stack sets. */
export const handler = makeHandler(deployedHistoryDependencies);
