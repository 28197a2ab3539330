/**
 * Issue 8 item 6: the embedded store must not grow under load. dynalite closed its LevelDB iterators
 * with `return()`, which abstract-level iterators do not have, so every Query left one open: each pins
 * LevelDB memtables and files until the database closes (npm start grew ~4 MB/s). patches/ fixes that;
 * this checks, through the DynamoDB API, that every iterator a Query or a table deletion opens is closed.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../adapters/dynamodb/client';
import { createHistoryTable } from '../../adapters/dynamodb/table-schema';
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from '../../local/embedded-dynamodb';

/** The abstract-level dynalite itself loads (through level / memory-level), so its iterators are seen. */
const abstractLevel = createRequire(createRequire(import.meta.url).resolve('dynalite'))('abstract-level') as {
  AbstractLevel: { prototype: Record<'keys' | 'values', (...args: unknown[]) => LevelIterator> };
};

interface LevelIterator {
  next(): Promise<unknown>;
}

const opened: LevelIterator[] = [];
const originals = {
  keys: abstractLevel.AbstractLevel.prototype.keys,
  values: abstractLevel.AbstractLevel.prototype.values,
};

beforeAll(() => {
  for (const name of ['keys', 'values'] as const) {
    abstractLevel.AbstractLevel.prototype[name] = function (this: unknown, ...args: unknown[]) {
      const iterator = originals[name].apply(this, args);
      opened.push(iterator);
      return iterator;
    };
  }
});

afterAll(() => {
  abstractLevel.AbstractLevel.prototype.keys = originals.keys;
  abstractLevel.AbstractLevel.prototype.values = originals.values;
});

/** A closed abstract-level iterator refuses to read; one left open answers (undefined at its end). */
async function isClosed(iterator: LevelIterator): Promise<boolean> {
  try {
    await iterator.next();
    return false;
  } catch (error) {
    return (error as { code?: string }).code === 'LEVEL_ITERATOR_NOT_OPEN';
  }
}

async function openIterators(): Promise<number> {
  // The response is sent before the stream's destroy has closed its iterator; give it a moment.
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const states = await Promise.all(opened.map(isClosed));
    const open = states.filter((closed) => !closed).length;
    if (open === 0) return 0;
    if (attempt === 49) return open;
    await new Promise((done) => setTimeout(done, 20));
  }
  return opened.length;
}

describe.each([
  { store: 'on disk (LevelDB, as npm start runs it)', onDisk: true },
  { store: 'in memory (as the tests run it)', onDisk: false },
])('the embedded DynamoDB $store', ({ onDisk }) => {
  let dataDir: string | undefined;
  let store: EmbeddedDynamoDb;
  const client = () => createDocumentClient({ endpoint: store.endpoint, maxAttempts: 1 });

  beforeAll(async () => {
    dataDir = onDisk ? await mkdtemp(join(tmpdir(), 'fota-embedded-store-')) : undefined;
    store = await startEmbeddedDynamoDb({ dataDir });
  });
  afterAll(async () => {
    await store.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });
  afterEach(() => {
    opened.length = 0;
  });

  it('closes the iterator of every Query, whether it finds items, none, or stops at its Limit', async () => {
    // Prepare
    const documents = client();
    await createHistoryTable(documents, 'iterators');
    for (let index = 0; index < 5; index += 1) {
      await documents.send(
        new PutCommand({ TableName: 'iterators', Item: { pk: 'DEVICE#a#1', sk: `UPGRADE#${index}` } }),
      );
    }
    opened.length = 0;

    // Act
    const query = (pk: string, limit?: number) =>
      documents.send(
        new QueryCommand({
          TableName: 'iterators',
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          Limit: limit,
        }),
      );
    const answers = await Promise.all([
      ...Array.from({ length: 20 }, () => query('DEVICE#a#1')),
      ...Array.from({ length: 20 }, (_, index) => query(`DEVICE#a#empty-${index}`)),
      ...Array.from({ length: 10 }, () => query('DEVICE#a#1', 2)),
    ]);

    // Assert
    expect(answers.map((answer) => answer.Count)).toEqual([
      ...Array(20).fill(5),
      ...Array(20).fill(0),
      ...Array(10).fill(2),
    ]);
    expect(opened.length).toBeGreaterThanOrEqual(50);
    expect(await openIterators()).toBe(0);
    documents.destroy();
  });

  it('closes the iterators a table deletion walks its items with', async () => {
    // Prepare
    const documents = client();
    await createHistoryTable(documents, 'deleted');
    await documents.send(new PutCommand({ TableName: 'deleted', Item: { pk: 'DEVICE#a#1', sk: 'UPGRADE#1' } }));
    opened.length = 0;

    // Act
    await documents.send(new DeleteTableCommand({ TableName: 'deleted' }));

    // Assert
    await expect.poll(() => opened.length).toBeGreaterThan(0);
    expect(await openIterators()).toBe(0);
    documents.destroy();
  });
});
