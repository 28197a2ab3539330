/**
 * DynamoDB for local runs and tests: dynalite in this process, no Docker, no AWS account. Tables are
 * ACTIVE as soon as they are created. Unlike DynamoDB it has no transactions and no TTL.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';

export interface EmbeddedDynamoDbOptions {
  /** LevelDB directory, so data survives restarts; in memory when omitted. */
  dataDir?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /**
   * On a worker thread of its own (npm start, npm run sync): the store's request parsing, LevelDB work
   * and garbage then run beside the event loop that serves the API instead of on it. Measured with
   * `npm run bench` (README, Performance).
   */
  thread?: boolean;
}

export interface EmbeddedDynamoDb {
  /** e.g. http://127.0.0.1:54321, for createDocumentClient({ endpoint }). */
  endpoint: string;
  /** Stops the server and closes LevelDB, flushing it so a restart on the same dataDir sees the data. */
  close(): Promise<void>;
}

/** Keep-alive sockets a client forgot to release must not keep close() waiting forever. */
const IDLE_SOCKET_GRACE_MS = 1_000;

export async function startEmbeddedDynamoDb(options: EmbeddedDynamoDbOptions = {}): Promise<EmbeddedDynamoDb> {
  const host = options.host ?? '127.0.0.1';
  const endpointOn = (port: number) => `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (options.thread) {
    const store = await startOnThread({ dataDir: options.dataDir, port: options.port ?? 0, host });
    return { endpoint: endpointOn(store.port), close: store.close };
  }
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  // Imported here: with `thread`, only the store's thread loads dynalite and LevelDB (npm start's start).
  const { default: dynalite } = await import('dynalite');
  const server = dynalite({ path: options.dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), IDLE_SOCKET_GRACE_MS).unref();
    });
    return closing;
  };

  return { endpoint: endpointOn(port), close };
}

/**
 * The thread's code, a file beside this one in the sources and one level up from launch.mjs's bundle
 * (.build/), which cannot carry it.
 */
function threadScript(): URL {
  const candidates = ['./embedded-dynamodb-thread.cjs', '../local/embedded-dynamodb-thread.cjs'];
  const found = candidates.map((name) => new URL(name, import.meta.url)).find((url) => existsSync(url));
  if (!found) throw new Error('local/embedded-dynamodb-thread.cjs not found');
  return found;
}

type ThreadMessage = { port: number } | { error: string; code?: string } | { closed: true; error?: string };

async function startOnThread(data: {
  dataDir?: string;
  port: number;
  host: string;
}): Promise<{ port: number; close: () => Promise<void> }> {
  const worker = new Worker(threadScript(), { workerData: data });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the store's thread stopped (${code}) before it listened`)));
    worker.once('message', (message: ThreadMessage) => {
      if ('port' in message) resolve(message.port);
      else
        reject(
          Object.assign(new Error(message.error ?? 'the store did not start'), {
            code: (message as { code?: string }).code,
          }),
        );
    });
  }).catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });
  worker.removeAllListeners('error').removeAllListeners('exit');
  // A thread that dies later (an uncaught error in it) must neither crash this process through an
  // unhandled 'error' event nor leave close() waiting for an answer that cannot come.
  let died: Error | undefined;
  worker.on('error', (error) => {
    died = error;
    process.stderr.write(`the embedded store stopped: ${error.message}\n`);
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= Promise.race([
      new Promise<void>((resolve, reject) => {
        worker.once('message', (message: ThreadMessage) => {
          if ('closed' in message && message.error) reject(new Error(message.error));
          else resolve();
        });
        worker.postMessage('close');
      }),
      exited.then(() => {
        if (died) throw new Error(`the store's thread had stopped: ${died.message}`);
      }),
    ]).finally(() => exited);
    return closing;
  };
  return { port, close };
}
