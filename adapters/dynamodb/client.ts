/**
 * The DynamoDB document client that the store, the archive reader and the login guard use, with the SDK's
 * retries and timeouts set for them.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StandardRetryStrategy } from '@smithy/core/retry';
import { type BackoffPolicy, backoff } from '../retry';

export interface DocumentClientOptions {
  /** A local endpoint such as dynalite's; omitted in AWS. */
  endpoint?: string;
  /** Default: the SDK's own (AWS_REGION, ...); us-east-1 for a local endpoint. */
  region?: string;
  /**
   * Whether the SDK's own credential chain has keys to sign with (AWS_ACCESS_KEY_ID set): a local
   * endpoint otherwise gets placeholder keys, which dynalite and DynamoDB Local accept.
   */
  accessKeyInEnvironment?: boolean;
  /**
   * SDK attempts per call, first included. The SDK retries throttling, 5xx and timeouts; the store and
   * the archive reader abort every call at its caller's deadline, waits included, so the default is
   * high enough for the deadline, not the count, to end a throttled call (about 20 s of waits).
   */
  maxAttempts?: number;
  /** The waits between the SDK's attempts, full jitter (adapters/retry.ts). */
  retryBackoff?: BackoffPolicy;
  random?: () => number;
  /** Bounds one HTTP attempt so a stuck connection cannot eat a Lambda's whole time budget. */
  requestTimeoutMs?: number;
  /** Bounds establishing a connection. */
  connectionTimeoutMs?: number;
}

const DEFAULT_MAX_ATTEMPTS = 25;

/**
 * The SDK's strategy, except that a throttling retry takes nothing from the client's retry quota: the
 * quota (500, 5 a throttled retry) is one per client, so a few calls throttled to their deadline would
 * empty it and every later throttled call in the execution environment would fail at its first answer.
 * Throttling is bounded by each call's deadline instead; other errors keep the SDK's accounting. The cost
 * function is private to the SDK (@smithy/core 3.x), so a test drains the quota to catch a change there.
 */
function deadlineBoundedRetryStrategy(options: ConstructorParameters<typeof StandardRetryStrategy>[0]) {
  const strategy = new StandardRetryStrategy(options);
  const accounting = strategy as unknown as { getCapacityCost(errorType: string): number };
  const sdkCost = accounting.getCapacityCost.bind(strategy);
  accounting.getCapacityCost = (errorType) => (errorType === 'THROTTLING' ? 0 : sdkCost(errorType));
  return strategy;
}

const DEFAULT_RETRY_BACKOFF: BackoffPolicy = { baseMs: 50, capMs: 2_000 };

/**
 * A document client for the archive table. Undefined attributes (an absent errorCode, say) are
 * dropped rather than rejected, so optional fields can be passed through as they are.
 */
export function createDocumentClient(options: DocumentClientOptions = {}): DynamoDBDocumentClient {
  const local = options.endpoint !== undefined;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const policy = options.retryBackoff ?? DEFAULT_RETRY_BACKOFF;
  // The SDK's strategy (what is retryable, its retry quota) with this project's
  // backoff: one base for throttling and other errors, and the SDK's wait is cut short by the call's abort signal.
  const retry = {
    maxAttempts,
    backoff: {
      computeNextBackoffDelay: (retries: number) => backoff(retries + 1, policy, options.random),
      setDelayBase: () => undefined,
    },
  };
  const client = new DynamoDBClient({
    endpoint: options.endpoint,
    region: options.region ?? (local ? 'us-east-1' : undefined),
    maxAttempts,
    retryStrategy: deadlineBoundedRetryStrategy(retry),
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
    ...(local && !options.accessKeyInEnvironment
      ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
}
