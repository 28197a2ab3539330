/**
 * A floor part: only the AWS SDK's calls of a first event (the secret, the login guard's read and two
 * writes, the archive Query) through the same clients, without Powertools or tracing.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';

const secrets = new SecretsManagerClient({});
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT }));
const TableName = process.env.TABLE_NAME;

export async function handler(event: { account: string; deviceId: string }) {
  await secrets.send(new GetSecretValueCommand({ SecretId: process.env.THINGSPACE_SECRET_ID }));
  const Key = { pk: 'THINGSPACE#LOGIN', sk: 'GUARD#aws-sdk-floor' };
  const guard = await documents.send(new GetCommand({ TableName, Key, ConsistentRead: true }));
  await documents.send(new PutCommand({ TableName, Item: { ...Key, version: (guard.Item?.version ?? 0) + 1 } }));
  await documents.send(new PutCommand({ TableName, Item: { ...Key, version: (guard.Item?.version ?? 0) + 2 } }));
  const archived = await documents.send(
    new QueryCommand({
      TableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `DEVICE#${event.account}#${event.deviceId}` },
    }),
  );
  return { statusCode: 200, body: JSON.stringify(archived.Items) };
}
