/** The Lambda events and context the handler tests invoke with. */
import type { APIGatewayProxyEvent, Context, SQSRecord } from 'aws-lambda';
import {
  apiGatewayProxyEvent,
  lambdaContext as emulatedContext,
  sqsRecord as emulatedSqsRecord,
} from '../../local/lambda-emulation';

const TEST_AWS_ACCOUNT = '123456789012';

/** A Lambda context (see local/lambda-emulation.ts), by default with the deployed API function's 28 s. */
export function lambdaContext(
  remainingMs: number | (() => number) = 28_000,
  functionName = 'fota-history-test',
): Context {
  return emulatedContext(functionName, remainingMs, TEST_AWS_ACCOUNT);
}

/** The event API Gateway's proxy integration delivers for GET /reports/{account}/devices/{deviceId}. */
export function historyRequestEvent(pathParameters: Record<string, string> | null): APIGatewayProxyEvent {
  const path = pathParameters ? `/reports/${pathParameters.account}/devices/${pathParameters.deviceId}` : '/reports';
  return apiGatewayProxyEvent({ method: 'GET', path, pathParameters, headers: { 'user-agent': 'vitest' } });
}

/** The URL SQS gives the queue named in `arn` (what the handlers derive from eventSourceARN). */
export function queueUrlOf(queueName: string): string {
  return `https://sqs.us-east-1.amazonaws.com/${TEST_AWS_ACCOUNT}/${queueName}`;
}

export { sqsEvent } from '../../local/lambda-emulation';

/** One SQS record on a queue of the test account. */
export function sqsRecord(
  body: string,
  options: { queueName: string; receiveCount?: number; messageId?: string },
): SQSRecord {
  return emulatedSqsRecord(body, { ...options, awsAccountId: TEST_AWS_ACCOUNT });
}
