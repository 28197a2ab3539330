/** One SQS client per execution environment (the SDK's AWS_ENDPOINT_URL_SQS can point it elsewhere). */
import { SQSClient } from '@aws-sdk/client-sqs';
import { tracer } from './powertools';

let client: SQSClient | undefined;

export function sqsClient(): SQSClient {
  client ??= tracer.captureAWSv3Client(new SQSClient({}));
  return client;
}
