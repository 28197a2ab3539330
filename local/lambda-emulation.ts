/**
 * The events and context Lambda hands a handler (API Gateway proxy, SQS), built as the runtime builds
 * them, for npm start, the bench and the tests.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, Context, SQSEvent, SQSRecord } from 'aws-lambda';

/** The deployed route; `{account}` and `{deviceId}` are single path segments, as in API Gateway. */
export const HISTORY_RESOURCE = '/reports/{account}/devices/{deviceId}';

/**
 * A Lambda context as the runtime hands it to a handler. A number is the time budget counting down
 * from now; a function answers getRemainingTimeInMillis itself (to simulate time running out).
 */
export function lambdaContext(
  functionName: string,
  remainingMs: number | (() => number),
  awsAccountId = '000000000000',
): Context {
  const deadline = typeof remainingMs === 'number' ? Date.now() + remainingMs : 0;
  const remaining = typeof remainingMs === 'number' ? () => Math.max(0, deadline - Date.now()) : remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:${awsAccountId}:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: remaining,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export interface ProxyRequest {
  method: string;
  /** The API Gateway resource the request matched; the history route when omitted. */
  resource?: string;
  path: string;
  pathParameters: Record<string, string> | null;
  headers?: Record<string, string | string[] | undefined>;
  searchParams?: URLSearchParams;
  sourceIp?: string;
  httpVersion?: string;
  /** The request body as API Gateway passes it (text); null/absent for none. */
  body?: string | null;
}

/** The event API Gateway's Lambda proxy integration (REST API, payload 1.0) delivers for the history route. */
export function apiGatewayProxyEvent(request: ProxyRequest): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    headers[name] = values.join(',');
    multiValueHeaders[name] = values;
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of request.searchParams ?? []) {
    query[name] = value;
    multiQuery[name] = [...(multiQuery[name] ?? []), value];
  }
  const hasQuery = Object.keys(query).length > 0;
  return {
    resource: request.resource ?? HISTORY_RESOURCE,
    path: request.path,
    httpMethod: request.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: request.pathParameters,
    stageVariables: null,
    body: request.body ?? null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: `HTTP/${request.httpVersion ?? '1.1'}`,
      httpMethod: request.method,
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
        sourceIp: request.sourceIp ?? '127.0.0.1',
        user: null,
        userAgent: headers['user-agent'] ?? null,
        userArn: null,
      },
      path: `/local${request.path}`,
      stage: 'local',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: request.resource ?? HISTORY_RESOURCE,
    },
  };
}

/** One SQS record as Lambda's SQS event source delivers it. */
export function sqsRecord(
  body: string,
  options: { queueName: string; receiveCount?: number; messageId?: string; awsAccountId?: string },
): SQSRecord {
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
    eventSourceARN: `arn:aws:sqs:us-east-1:${options.awsAccountId ?? '000000000000'}:${options.queueName}`,
    awsRegion: 'us-east-1',
  };
}

export function sqsEvent(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}
