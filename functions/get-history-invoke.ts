import type { Context } from 'aws-lambda';
import { parseDeviceKey } from '../domain/device-key';
import type { UpgradeRecord } from '../domain/upgrade-record';
import { getDeviceHistory } from '../services/get-device-history';
import { deadlineFor } from './commons/deadline';
import { historyDependencies } from './commons/history-dependencies';
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

/** Direct invoke / Step Functions: `{account, deviceId}` in, the merged history (ThingSpace's shape) out. */
const lambdaHandler = async (event: HistoryRequest, context: Context): Promise<UpgradeRecord[]> => {
  try {
    const device = parseDeviceKey(event);
    logger.appendKeys({ account: device.account, deviceId: device.deviceId });
    const history = await getDeviceHistory(device, historyDependencies(), {
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
};

export const handler = withPowertools<HistoryRequest, UpgradeRecord[]>().handler(lambdaHandler);
