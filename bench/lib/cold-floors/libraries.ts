/**
 * The cold-start yardstick: the libraries get-history-api is built from (Powertools logger, metrics and
 * tracer under middy, Powertools Parameters over the Secrets Manager client, the DynamoDB document
 * client, node:http) making the first event's calls in the same order, and nothing of the service's own:
 * no validation, login rule, merge or error mapping. Bundled like a function (lib/lambda-bundling.ts), it
 * is the least a cold start built on these libraries costs. The other files here are its parts alone.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { type DemoCredentials, deviceHistory, logIn, requestToken } from './thingspace-calls';

const logger = new Logger({ serviceName: 'fota-history' });
const metrics = new Metrics({ serviceName: 'fota-history', namespace: 'FotaHistory' });
const tracer = new Tracer({ serviceName: 'fota-history' });
const secrets = new SecretsProvider({ awsSdkV3Client: tracer.captureAWSv3Client(new SecretsManagerClient({})) });
const documents = tracer.captureAWSv3Client(
  DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT })),
);
const TableName = process.env.TABLE_NAME;

async function answer(event: APIGatewayProxyEvent) {
  const { account, deviceId } = event.pathParameters as { account: string; deviceId: string };
  const credentials: DemoCredentials = JSON.parse(
    (await secrets.get(process.env.THINGSPACE_SECRET_ID ?? '')) as string,
  );
  const token = await requestToken(credentials);
  // The login guard's lease (a read and a write) before the login, and its verdict (a write) after.
  const Key = { pk: 'THINGSPACE#LOGIN', sk: 'GUARD#libraries-floor' };
  const guard = await documents.send(new GetCommand({ TableName, Key, ConsistentRead: true }));
  await documents.send(new PutCommand({ TableName, Item: { ...Key, version: (guard.Item?.version ?? 0) + 1 } }));
  const session = await logIn(credentials, token);
  await documents.send(new PutCommand({ TableName, Item: { ...Key, version: (guard.Item?.version ?? 0) + 2 } }));
  const [live, archived] = await Promise.all([
    deviceHistory(account, deviceId, token, session),
    documents.send(
      new QueryCommand({
        TableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `DEVICE#${account}#${deviceId}` },
      }),
    ),
  ]);
  metrics.addMetric('ArchivedRecords', MetricUnit.Count, archived.Items?.length ?? 0);
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: live };
}

export const handler = middy(answer)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
