/** GET /reports/{account}/devices/{deviceId}: ThingSpace's request, answered with the whole history. */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { parseDeviceKey } from '../domain/device-key';
import { getDeviceHistory } from '../services/get-device-history';
import type { HistoryDependencies } from '../services/observe-device';
import { apiGatewayHandler } from './commons/api-handler';
import { historyResponse } from './commons/api-responses';
import { deadlineFor } from './commons/deadline';
import { deployedHistoryDependencies } from './commons/history-dependencies';
import { recordHistoryMetrics } from './commons/history-metrics';
import { logger } from './commons/powertools';

/** Time kept back from upstream retries for the archive writes and the answer itself. */
const ANSWER_RESERVE_MS = 3_000;
/** Time kept back from the archive's calls for the answer itself, so a stalled store still gets a 503. */
const STORE_RESERVE_MS = 1_000;

/** `dependencies` is asked on each request (a getter that builds them once). */
export function makeHandler(dependencies: () => HistoryDependencies) {
  return apiGatewayHandler((event, context) => answer(event, context, dependencies));
}

async function answer(
  event: APIGatewayProxyEvent,
  context: Context,
  dependencies: () => HistoryDependencies,
): Promise<APIGatewayProxyResult> {
  const device = parseDeviceKey(event.pathParameters);
  logger.appendKeys({ account: device.account, deviceId: device.deviceId });
  const history = await getDeviceHistory(device, dependencies(), {
    deadline: deadlineFor(context, ANSWER_RESERVE_MS),
    storeDeadline: deadlineFor(context, STORE_RESERVE_MS),
  });
  if (history.stale) {
    const failure = history.upstreamFailure;
    logger.warn('ThingSpace unavailable; answering from the archive', {
      failure: failure?.failure,
      // Which secret could not be read and why (never its content).
      ...(failure?.failure === 'credentials' ? { cause: failure.message } : {}),
    });
  }
  recordHistoryMetrics(history);
  return historyResponse(history);
}

/** Deployed: one set of dependencies per execution environment, from the environment the stack sets. */
export const handler = makeHandler(deployedHistoryDependencies);
