import { randomUUID } from 'node:crypto';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';

export const TEST_AWS_ACCOUNT = '123456789012';

/** The URL SQS gives the queue named in `arn` (what the handlers derive from eventSourceARN). */
export function queueUrlOf(queueName: string): string {
  return `https://sqs.us-east-1.amazonaws.com/${TEST_AWS_ACCOUNT}/${queueName}`;
}

/** A Lambda context with a fixed time budget; `remainingMs` may be a function to simulate time running out. */
export function lambdaContext(functionName: string, remainingMs: number | (() => number) = 60_000): Context {
  const remaining = typeof remainingMs === 'number' ? () => remainingMs : remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:${TEST_AWS_ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: remaining,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
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
