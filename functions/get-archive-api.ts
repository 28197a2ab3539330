/**
 * GET /archive/{account}/devices/{deviceId} and GET /archive/{account}/upgrades: questions to the
 * archive alone. ThingSpace is never called.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { parseArchiveQuery, refuseQueryParameters } from '../domain/archive-query';
import { parseAccount, parseDeviceKey } from '../domain/device-key';
import { type ArchiveQueryDependencies, getDeviceArchive, listArchivedUpgrades } from '../services/archive-queries';
import { apiGatewayHandler } from './commons/api-handler';
import { deployedArchiveDependencies } from './commons/archive-dependencies';
import { recordArchiveMetrics } from './commons/archive-metrics';
import { deadlineFor } from './commons/deadline';
import { logger } from './commons/powertools';

/** Time kept back from DynamoDB retries for the answer itself. */
const ANSWER_RESERVE_MS = 2_000;

export function makeHandler(dependencies: () => ArchiveQueryDependencies) {
  return apiGatewayHandler((event, context) => answer(event, context, dependencies));
}

async function answer(
  event: APIGatewayProxyEvent,
  context: Context,
  dependencies: () => ArchiveQueryDependencies,
): Promise<APIGatewayProxyResult> {
  const started = Date.now();
  const options = { deadline: deadlineFor(context, ANSWER_RESERVE_MS) };
  if (event.pathParameters?.deviceId !== undefined) {
    const device = parseDeviceKey(event.pathParameters);
    refuseQueryParameters(event.queryStringParameters, event.multiValueQueryStringParameters);
    logger.appendKeys({ account: device.account, deviceId: device.deviceId });
    const view = await getDeviceArchive(device, dependencies(), options);
    recordArchiveMetrics('device', Date.now() - started, view.upgrades.length);
    return json(view);
  }
  const account = parseAccount(event.pathParameters?.account);
  logger.appendKeys({ account });
  const query = parseArchiveQuery(account, event.queryStringParameters, event.multiValueQueryStringParameters);
  const page = await listArchivedUpgrades(query, dependencies(), options);
  recordArchiveMetrics('upgrades', Date.now() - started, page.upgrades.length, page.index);
  return json({ upgrades: page.upgrades, ...(page.nextToken ? { nextToken: page.nextToken } : {}) });
}

function json(body: unknown): APIGatewayProxyResult {
  return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
}

/** Deployed: one set of dependencies per execution environment, from the environment the stack sets. */
export const handler = makeHandler(deployedArchiveDependencies);
