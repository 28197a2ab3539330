import { SQSClient } from '@aws-sdk/client-sqs';
import { tracer } from './powertools';

let client: SQSClient | undefined;

/** One SQS client per execution environment; SQS_ENDPOINT points it at a local queue in tests. */
export function sqsClient(): SQSClient {
  client ??= tracer.captureAWSv3Client(new SQSClient({ endpoint: process.env.SQS_ENDPOINT || undefined }));
  return client;
}
