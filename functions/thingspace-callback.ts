/**
 * POST /callbacks/thingspace: ThingSpace's FOTA callback. Answers at once with the number of devices
 * queued for sync; the sync workers do the rest.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { acceptCallback, type CallbackDependencies } from '../services/accept-callback';
import { apiGatewayHandler } from './commons/api-handler';
import { deployedCallbackDependencies } from './commons/callback-dependencies';
import { metrics } from './commons/powertools';

function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const entry = Object.entries(event.headers ?? {}).find(([key]) => key.toLowerCase() === name);
  return entry?.[1] ?? undefined;
}

export function makeHandler(dependencies: () => CallbackDependencies) {
  return apiGatewayHandler((event) => answer(event, dependencies()), {
    refusedMetric: 'CallbacksRefused',
    failedMetric: 'CallbackErrors',
    subject: 'callback',
  });
}

async function answer(event: APIGatewayProxyEvent, dependencies: CallbackDependencies): Promise<APIGatewayProxyResult> {
  const body = event.body ?? '';
  const result = await acceptCallback(
    {
      body: event.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body,
      authorization: header(event, 'authorization'),
    },
    dependencies,
  );
  metrics.addMetric('CallbackDevicesQueued', MetricUnit.Count, result.accepted);
  return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(result) };
}

/** Deployed: one set of dependencies per execution environment, from the environment the stack sets. */
export const handler = makeHandler(deployedCallbackDependencies);
