/**
 * GET /health on `npm start`: whether the store can be read (one GetItem of a key no item has) and
 * whether ThingSpace's host accepts a TCP connection. ThingSpace's API itself is not called: a probe
 * must cost no token, no login and no FOTA request. 503 when the store cannot be read, since no
 * request can then be answered; an unreachable ThingSpace still leaves stale answers from the archive.
 */
import { connect } from 'node:net';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { createDocumentClient } from '../adapters/dynamodb/client';
import { PARTITION_KEY, SORT_KEY } from '../adapters/dynamodb/table-schema';
import { ErrorCode } from '../domain/failure';
import type { LocalEnvironment } from './local-environment';

/** Short enough that a health probe with a timeout of a few seconds always gets an answer. */
const PROBE_TIMEOUT_MS = 1_000;

type Reachability = 'reachable' | 'unreachable';

export function healthCheck(environment: () => LocalEnvironment | undefined): () => Promise<APIGatewayProxyResult> {
  let client: ReturnType<typeof createDocumentClient> | undefined;
  return async () => {
    const current = environment();
    if (!current) return json(503, { status: 'starting' });
    client ??= createDocumentClient({
      endpoint: current.store.endpoint,
      ...current.service.aws,
      maxAttempts: 1,
      requestTimeoutMs: PROBE_TIMEOUT_MS,
    });
    const [store, thingspace] = await Promise.all([
      client
        .send(
          new GetCommand({
            TableName: current.store.tableName,
            Key: { [PARTITION_KEY]: 'HEALTH#PROBE', [SORT_KEY]: 'HEALTH#PROBE' },
          }),
        )
        .then(
          (): Reachability => 'reachable',
          (): Reachability => 'unreachable',
        ),
      tcpReachable(current.thingspace.baseUrl),
    ]);
    if (store === 'unreachable') {
      return json(503, {
        status: 'unavailable',
        store,
        thingspace,
        errorCode: ErrorCode.archiveUnavailable,
        errorMessage: 'The history archive cannot be read',
      });
    }
    return json(200, { status: 'ok', store, thingspace });
  };
}

function json(statusCode: number, body: unknown): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
    body: JSON.stringify(body),
  };
}

function tcpReachable(baseUrl: string): Promise<Reachability> {
  const url = new URL(baseUrl);
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: PROBE_TIMEOUT_MS });
    const done = (result: Reachability) => {
      socket.destroy();
      resolve(result);
    };
    socket.once('connect', () => done('reachable'));
    socket.once('timeout', () => done('unreachable'));
    socket.once('error', () => done('unreachable'));
  });
}
