import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { acceptCallback } from '../services/accept-callback';
import { apiGatewayHandler } from './commons/api-handler';
import { callbackDependencies } from './commons/callback-dependencies';
import { metrics } from './commons/powertools';

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
    {
      body: event.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body,
      authorization: header(event, 'authorization'),
    },
    callbackDependencies(),
  );
  metrics.addMetric('CallbackDevicesQueued', MetricUnit.Count, result.accepted);
  return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(result) };
};

export const handler = apiGatewayHandler(lambdaHandler, {
  refusedMetric: 'CallbacksRefused',
  failedMetric: 'CallbackErrors',
  subject: 'callback',
});
