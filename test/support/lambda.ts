import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, Context, SQSEvent, SQSRecord } from 'aws-lambda';

export const TEST_AWS_ACCOUNT = '123456789012';

/**
 * A Lambda context. A number is the time budget, counting down from now (the deployed API function's
 * by default); a function answers getRemainingTimeInMillis itself, to simulate time running out.
 */
export function lambdaContext(remainingMs: number | (() => number) = 28_000, functionName = 'fota-history-test'): Context {
  const deadline = typeof remainingMs === 'number' ? Date.now() + remainingMs : 0;
  const remaining = typeof remainingMs === 'number' ? () => Math.max(0, deadline - Date.now()) : remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:${TEST_AWS_ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: remaining,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The event API Gateway's proxy integration delivers for GET /reports/{account}/devices/{deviceId}. */
export function historyRequestEvent(pathParameters: Record<string, string> | null): APIGatewayProxyEvent {
  const path = pathParameters ? `/reports/${pathParameters.account}/devices/${pathParameters.deviceId}` : '/reports';
  return {
    resource: '/reports/{account}/devices/{deviceId}',
    path,
    httpMethod: 'GET',
    headers: {},
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters,
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'test',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: 'GET',
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '127.0.0.1',
        user: null,
        userAgent: 'vitest',
        userArn: null,
      },
      path: `/test${path}`,
      stage: 'test',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'test',
      resourcePath: '/reports/{account}/devices/{deviceId}',
    },
  };
}

/** The URL SQS gives the queue named in `arn` (what the handlers derive from eventSourceARN). */
export function queueUrlOf(queueName: string): string {
  return `https://sqs.us-east-1.amazonaws.com/${TEST_AWS_ACCOUNT}/${queueName}`;
}

/** One SQS record as Lambda's event source delivers it. */
export function sqsRecord(body: string, options: { queueName: string; receiveCount?: number; messageId?: string }): SQSRecord {
  const messageId = options.messageId ?? randomUUID();
  return {
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:us-east-1:${TEST_AWS_ACCOUNT}:${options.queueName}`,
    awsRegion: 'us-east-1',
  };
}

export function sqsEvent(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}
