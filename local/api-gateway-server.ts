import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { drainConnections } from './connection-drain';
import { apiGatewayProxyEvent, HISTORY_RESOURCE, lambdaContext } from './lambda-emulation';
import { answerParserRejection } from './parser-rejections';
import { CALLBACK_BODY_LIMIT_BYTES } from '../domain/callback-payload';

export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

const ROUTE = /^\/reports\/([^/]+)\/devices\/([^/]+)\/?$/;
/** API Gateway's integration timeout, so the handler's deadline logic behaves as deployed. */
const TIMEOUT_MS = 28_000;
/** A stop waits this long for the requests it must finish: the longest a request can take, and a margin. */
const DRAIN_LIMIT_MS = TIMEOUT_MS + 2_000;

export interface LocalApiServer {
  url: string;
  /**
   * Stops accepting connections and resolves once every request received has been answered: those in
   * flight, and those on connections accepted just before the stop.
   */
  close(): Promise<void>;
}

function errorResult(statusCode: number, errorCode: string, errorMessage: string): APIGatewayProxyResult {
  return { statusCode, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ errorCode, errorMessage }) };
}

async function answer(
  request: IncomingMessage,
  handler: ProxyHandler,
  functionName: string,
  callbackHandler?: ProxyHandler,
): Promise<APIGatewayProxyResult> {
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (callbackHandler && url.pathname.replace(/\/$/, '') === CALLBACK_ROUTE) {
    return answerCallback(request, url, callbackHandler);
  }
  const match = ROUTE.exec(url.pathname);
  if (!match) return errorResult(404, 'NOT_FOUND', `No route for ${url.pathname}; try GET ${HISTORY_RESOURCE}`);
  if (request.method !== 'GET') return errorResult(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed; use GET`);
  let pathParameters: Record<string, string>;
  try {
    // API Gateway hands the handler decoded path parameters.
    pathParameters = { account: decodeURIComponent(match[1]!), deviceId: decodeURIComponent(match[2]!) };
  } catch {
    return errorResult(400, 'INVALID_PARAMETER', 'Path parameters are not valid percent-encoding');
  }
  try {
    const event = apiGatewayProxyEvent({
      method: request.method ?? 'GET',
      path: url.pathname,
      pathParameters,
      headers: request.headers,
      searchParams: url.searchParams,
      sourceIp: request.socket.remoteAddress,
      httpVersion: request.httpVersion,
    });
    return await handler(event, lambdaContext(functionName, TIMEOUT_MS));
  } catch {
    // What API Gateway answers when the integration itself fails.
    return errorResult(502, 'INTERNAL_ERROR', 'The service failed to answer; retry later');
  }
}

/** The ThingSpace callback listener's route (local/callback-route.ts). */
const CALLBACK_ROUTE = '/callbacks/thingspace';

async function answerCallback(request: IncomingMessage, url: URL, handler: ProxyHandler): Promise<APIGatewayProxyResult> {
  if (request.method !== 'POST') return errorResult(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed; use POST`);
  // A client that goes away mid-body must not take the server down with an unhandled rejection.
  const read = await readCallbackBody(request).catch(() => undefined);
  if (read === undefined) return errorResult(400, 'INVALID_PARAMETER', 'The request body could not be read');
  let result: APIGatewayProxyResult;
  try {
    const event = apiGatewayProxyEvent({
      method: 'POST',
      path: url.pathname,
      pathParameters: null,
      headers: request.headers,
      searchParams: url.searchParams,
      sourceIp: request.socket.remoteAddress,
      httpVersion: request.httpVersion,
      body: read.body,
      resource: CALLBACK_ROUTE,
    });
    result = await handler(event, lambdaContext('fota-history-callback', TIMEOUT_MS));
  } catch {
    return errorResult(502, 'INTERNAL_ERROR', 'The service failed to answer; retry later');
  }
  // The rest of an oversized body is not read: the connection closes after the answer.
  return read.truncated ? { ...result, headers: { ...result.headers, Connection: 'close' } } : result;
}

/**
 * Reads at most one byte more than the listener accepts (CALLBACK_BODY_LIMIT_BYTES), so an oversized or
 * endless body is answered (413 by the handler, or 404 with no listener, in the deployed order) without
 * being held in memory or waited for.
 */
function readCallbackBody(request: IncomingMessage): Promise<{ body: string; truncated: boolean }> {
  const limit = CALLBACK_BODY_LIMIT_BYTES + 1;
  return new Promise((resolveBody, rejectBody) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (truncated: boolean) => {
      request.off('data', onData).off('end', onEnd).off('error', rejectBody);
      resolveBody({ body: Buffer.concat(chunks).toString('utf8'), truncated });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk.subarray(0, limit - size));
      size += Math.min(chunk.length, limit - size);
      if (size < limit) return;
      // Not destroyed (the answer still has to go out on this socket), just no longer read.
      request.pause();
      done(true);
    };
    const onEnd = () => done(false);
    // A client that goes away mid-body: nothing to answer (once settled, this no longer matters).
    request.once('close', () => rejectBody(new Error('the client went away mid-body')));
    request.on('data', onData).on('end', onEnd).on('error', rejectBody);
  });
}

function write(response: ServerResponse, result: APIGatewayProxyResult, closing: boolean): void {
  response.statusCode = result.statusCode;
  // While stopping, each connection closes after its response instead of waiting for another request.
  if (closing) response.setHeader('Connection', 'close');
  for (const [name, value] of Object.entries(result.headers ?? {})) response.setHeader(name, String(value));
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) response.setHeader(name, values.map(String));
  response.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
}

/**
 * Serves the Lambda handler over HTTP the way API Gateway's Lambda proxy integration does: each
 * request becomes the API Gateway event, the handler's result becomes the response.
 */
export async function startLocalApiServer(options: {
  handler: ProxyHandler;
  port?: number;
  host?: string;
  functionName?: string;
  /** Serves POST /callbacks/thingspace with this handler (functions/thingspace-callback.ts). */
  callbackHandler?: ProxyHandler;
}): Promise<LocalApiServer> {
  const functionName = options.functionName ?? 'fota-history-api';
  const server: Server = createServer((request, response) => {
    void answer(request, options.handler, functionName, options.callbackHandler).then((result) => write(response, result, drain.closing));
  });
  const drain = drainConnections(server);
  server.keepAliveTimeout = 5_000;
  server.on('clientError', answerParserRejection);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    close: () => drain.close(DRAIN_LIMIT_MS),
  };
}
