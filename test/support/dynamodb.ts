/**
 * The tests' DynamoDB: one in-memory dynalite per test file, and a count of the operations a client sends.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { createDocumentClient } from '../../adapters/dynamodb/client';
import { createHistoryTable } from '../../adapters/dynamodb/table-schema';
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from '../../local/embedded-dynamodb';

export interface TestDynamoDb {
  readonly endpoint: string;
  /** A document client on the embedded DynamoDB, shared by the test file. */
  readonly client: DynamoDBDocumentClient;
  /** A fresh client, for a test that adds middleware (e.g. countOperations) without touching others. */
  createClient(): DynamoDBDocumentClient;
  /** Creates a table with the archive's key schema under a unique name, so tests never share data. */
  createTestTable(): Promise<string>;
}

/**
 * One in-memory dynalite for the calling test file: started in beforeAll, closed in afterAll.
 * Call at the top level of the file (or of a describe) and use the result inside tests.
 */
export function useTestDynamoDb(): TestDynamoDb {
  let server: EmbeddedDynamoDb | undefined;
  let client: DynamoDBDocumentClient | undefined;
  const clients: DynamoDBDocumentClient[] = [];

  const started = (): EmbeddedDynamoDb => {
    if (!server) throw new Error('useTestDynamoDb(): the embedded DynamoDB is only available inside tests');
    return server;
  };
  const newClient = (): DynamoDBDocumentClient => {
    const created = createDocumentClient({ endpoint: started().endpoint, maxAttempts: 1 });
    clients.push(created);
    return created;
  };

  beforeAll(async () => {
    server = await startEmbeddedDynamoDb();
    client = newClient();
  });
  afterAll(async () => {
    for (const created of clients.splice(0)) created.destroy();
    await server?.close();
    server = undefined;
    client = undefined;
  });

  return {
    get endpoint() {
      return started().endpoint;
    },
    get client() {
      started();
      return client as DynamoDBDocumentClient;
    },
    createClient: newClient,
    async createTestTable() {
      const tableName = `fota-history-test-${randomUUID()}`;
      started();
      await createHistoryTable(client as DynamoDBDocumentClient, tableName);
      return tableName;
    },
  };
}

export type DynamoDbOperation =
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'GetItem'
  | 'Query'
  | 'Scan'
  | 'BatchGetItem'
  | 'BatchWriteItem';

/**
 * Counts the DynamoDB operations a client sends (one per command, SDK retries not included), read
 * from the X-Amz-Target header so document-client and plain commands are counted alike.
 */
export function countOperations(client: DynamoDBDocumentClient): {
  count(operation: DynamoDbOperation): number;
  reset(): void;
} {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next) => async (args) => {
      const headers = (args.request as { headers?: Record<string, string> } | undefined)?.headers ?? {};
      const target = headers['x-amz-target'] ?? headers['X-Amz-Target'] ?? '';
      const operation = target.split('.').pop() ?? '';
      counts.set(operation, (counts.get(operation) ?? 0) + 1);
      return next(args);
    },
    { step: 'build', name: 'countOperations' },
  );
  return {
    count: (operation) => counts.get(operation) ?? 0,
    reset: () => counts.clear(),
  };
}
