import { SQSClient } from '@aws-sdk/client-sqs';
import { tracer } from './powertools';

let client: SQSClient | undefined;

/** One SQS client per execution environment. */
export function sqsClient(): SQSClient {
  client ??= tracer.captureAWSv3Client(new SQSClient({}));
  return client;
}
