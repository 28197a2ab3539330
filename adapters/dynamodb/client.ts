import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface DocumentClientOptions {
  /** A local endpoint such as dynalite's; omitted in AWS. */
  endpoint?: string;
  region?: string;
  /** SDK attempts per call, first included. The store retries throttling beyond these itself. */
  maxAttempts?: number;
  /** 'adaptive' adds client-side rate limiting when DynamoDB throttles; 'standard' is the SDK default. */
  retryMode?: 'standard' | 'adaptive';
  /** Bounds one HTTP attempt so a stuck connection cannot eat a Lambda's whole time budget. */
  requestTimeoutMs?: number;
  /** Bounds establishing a connection. */
  connectionTimeoutMs?: number;
}

/**
 * A document client for the archive table. Undefined attributes (an absent errorCode, say) are
 * dropped rather than rejected, so optional fields can be passed through as they are.
 */
export function createDocumentClient(options: DocumentClientOptions = {}): DynamoDBDocumentClient {
  const local = options.endpoint !== undefined;
  const client = new DynamoDBClient({
    endpoint: options.endpoint,
    region: options.region ?? process.env.AWS_REGION ?? (local ? 'us-east-1' : undefined),
    maxAttempts: options.maxAttempts ?? 3,
    retryMode: options.retryMode ?? 'standard',
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? 2_000,
      requestTimeout: options.requestTimeoutMs ?? 5_000,
      // Without this the SDK only logs a warning when requestTimeout passes and keeps waiting, so a
      // store that accepts connections but never answers held a request until Lambda killed it (500).
      // As an error, it is a TimeoutError the SDK retries (maxAttempts) on a fresh connection.
      throwOnRequestTimeout: true,
      // The SDK caps an agent at 50 sockets and starts connectionTimeout while a request waits for one,
      // so a burst on npm start (one process, many requests, the store local) failed with "connection"
      // timeouts though nothing was slow to connect. A Lambda sends one request at a time: no change there.
      ...(local ? { httpAgent: { maxSockets: Infinity } } : {}),
    },
    // A local endpoint (dynalite) accepts any signature; dummy keys spare `npm start` an AWS profile.
    ...(local && !process.env.AWS_ACCESS_KEY_ID
      ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
}
