import { MetricUnit } from '@aws-lambda-powertools/metrics';
import httpErrorHandler from '@middy/http-error-handler';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { isApiError } from '../domain/api-error';
import { parseArchiveQuery, refuseQueryParameters } from '../domain/archive-query';
import { parseAccount, parseDeviceKey } from '../domain/device-key';
import { getDeviceArchive, listArchivedUpgrades } from '../services/archive-queries';
import { INTERNAL_ERROR_BODY } from './commons/api-responses';
import { archiveDependencies } from './commons/archive-dependencies';
import { recordArchiveMetrics } from './commons/archive-metrics';
import { deadlineFor } from './commons/deadline';
import { logger, metrics } from './commons/powertools';
import { withPowertools } from './commons/powertools-handler';

/** Time kept back from DynamoDB retries for the answer itself. */
const ANSWER_RESERVE_MS = 2_000;

/**
 * GET /archive/{account}/devices/{deviceId} and GET /archive/{account}/upgrades: questions to the
 * archive alone. ThingSpace is never called.
 */
const lambdaHandler = async (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> => {
  const started = Date.now();
  const options = { deadline: deadlineFor(context, ANSWER_RESERVE_MS) };
  if (event.pathParameters?.deviceId !== undefined) {
    const device = parseDeviceKey(event.pathParameters);
    refuseQueryParameters(event.queryStringParameters, event.multiValueQueryStringParameters);
    logger.appendKeys({ account: device.account, deviceId: device.deviceId });
    const view = await getDeviceArchive(device, archiveDependencies(), options);
    recordArchiveMetrics('device', Date.now() - started, view.upgrades.length);
    return json(view);
  }
  const account = parseAccount(event.pathParameters?.account);
  logger.appendKeys({ account });
  const query = parseArchiveQuery(account, event.queryStringParameters, event.multiValueQueryStringParameters);
  const page = await listArchivedUpgrades(query, archiveDependencies(), options);
  recordArchiveMetrics('upgrades', Date.now() - started, page.upgrades.length, page.index);
  return json({ upgrades: page.upgrades, ...(page.nextToken ? { nextToken: page.nextToken } : {}) });
};

function json(body: unknown): APIGatewayProxyResult {
  return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
}

function logRequestError(error: unknown): void {
  const refused = isApiError(error) && error.statusCode < 500;
  metrics.addMetric(refused ? 'ClientErrors' : 'ServerErrors', MetricUnit.Count, 1);
  if (refused) {
    logger.info('request refused', { errorCode: error.errorCode, statusCode: error.statusCode });
  } else {
    logger.error('request failed', error as Error);
  }
}

// Error handler last: it runs first on the way out, so every failure leaves in ThingSpace's shape.
export const handler = withPowertools<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(httpErrorHandler({ logger: logRequestError, fallbackMessage: INTERNAL_ERROR_BODY }))
  .handler(lambdaHandler);
