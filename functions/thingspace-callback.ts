import { MetricUnit } from '@aws-lambda-powertools/metrics';
import httpErrorHandler from '@middy/http-error-handler';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { isApiError } from '../domain/api-error';
import { acceptCallback } from '../services/accept-callback';
import { INTERNAL_ERROR_BODY } from './commons/api-responses';
import { callbackDependencies } from './commons/callback-dependencies';
import { logger, metrics } from './commons/powertools';
import { withPowertools } from './commons/powertools-handler';

function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const entry = Object.entries(event.headers ?? {}).find(([key]) => key.toLowerCase() === name);
  return entry?.[1] ?? undefined;
}

/**
 * POST /callbacks/thingspace: ThingSpace's FOTA callback. Answers at once with the number of devices
 * queued for sync; the sync workers do the rest.
 */
const lambdaHandler = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  const body = event.body ?? '';
  const result = await acceptCallback(
    { body: event.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body, authorization: header(event, 'authorization') },
    callbackDependencies(),
  );
  metrics.addMetric('CallbackDevicesQueued', MetricUnit.Count, result.accepted);
  return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(result) };
};

function logRequestError(error: unknown): void {
  const refused = isApiError(error) && error.statusCode < 500;
  metrics.addMetric(refused ? 'CallbacksRefused' : 'CallbackErrors', MetricUnit.Count, 1);
  // Never the body or the Authorization header: both may hold the callback password.
  if (refused) logger.info('callback refused', { errorCode: error.errorCode, statusCode: error.statusCode });
  else logger.error('callback failed', error as Error);
}

export const handler = withPowertools<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(httpErrorHandler({ logger: logRequestError, fallbackMessage: INTERNAL_ERROR_BODY }))
  .handler(lambdaHandler);
