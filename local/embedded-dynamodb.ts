import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';

export interface EmbeddedDynamoDbOptions {
  /** LevelDB directory, so data survives restarts; in memory when omitted. */
  dataDir?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
}

export interface EmbeddedDynamoDb {
  /** e.g. http://127.0.0.1:54321, for createDocumentClient({ endpoint }). */
  endpoint: string;
  /** Stops the server and closes LevelDB, flushing it so a restart on the same dataDir sees the data. */
  close(): Promise<void>;
}

/** Keep-alive sockets a client forgot to release must not keep close() waiting forever. */
const IDLE_SOCKET_GRACE_MS = 1_000;

/**
 * DynamoDB for local runs and tests: dynalite in this process, no Docker, no AWS account. Tables are
 * ACTIVE as soon as they are created. Unlike DynamoDB it has no transactions and no TTL.
 */
export async function startEmbeddedDynamoDb(options: EmbeddedDynamoDbOptions = {}): Promise<EmbeddedDynamoDb> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const server = dynalite({ path: options.dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const host = options.host ?? '127.0.0.1';

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

  return { endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, close };
}
