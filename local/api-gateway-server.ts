/**
 * Serves the Lambda handler over HTTP the way API Gateway's Lambda proxy integration does: each
 * request becomes the API Gateway event, the handler's result becomes the response.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { CALLBACK_BODY_LIMIT_BYTES } from '../domain/callback-payload';
import { failureAnswer, UNFORESEEN } from '../functions/commons/failure-table';
import { drainConnections } from './connection-drain';
import { apiGatewayProxyEvent, HISTORY_RESOURCE, lambdaContext } from './lambda-emulation';
import { answerParserRejection } from './parser-rejections';

export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

const ROUTE = /^\/reports\/([^/]+)\/devices\/([^/]+)\/?$/;
/** The archive routes (lib/history-api.ts): resource, path pattern, and the names of its path parameters. */
export const ARCHIVE_ROUTES = [
  {
    resource: '/archive/{account}/devices/{deviceId}',
    pattern: /^\/archive\/([^/]+)\/devices\/([^/]+)\/?$/,
    parameters: ['account', 'deviceId'],
  },
  { resource: '/archive/{account}/upgrades', pattern: /^\/archive\/([^/]+)\/upgrades\/?$/, parameters: ['account'] },
] as const;
/** Where the OpenAPI description of every route is served. */
export const OPENAPI_PATH = '/openapi.json';
/** API Gateway's integration timeout, so the handler's deadline logic behaves as deployed. */
const TIMEOUT_MS = 28_000;
/** A stop waits this long for the requests it must finish: the longest a request can take, and a margin. */
const DRAIN_LIMIT_MS = TIMEOUT_MS + 2_000;

/** What one request did, for the access line. */
export interface AccessEntry {
  method: string;
  path: string;
  status: number;
  ms: number;
  /** The answer came from the archive alone (X-History-Stale). */
  stale: boolean;
  /** Records in a 200 history answer. */
  records?: number;
}

export interface LocalApiServer {
  url: string;
  /**
   * Stops accepting connections and resolves once every request received has been answered: those in
   * flight, and those on connections accepted just before the stop.
   */
  close(): Promise<void>;
}

function errorResult(statusCode: number, errorCode: string, errorMessage: string): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ errorCode, errorMessage }),
  };
}

/** A request refused by the service's own rules before it reaches a handler, answered as the handlers would. */
function invalidRequest(message: string): APIGatewayProxyResult {
  const answer = failureAnswer({ kind: 'invalid-parameter', message });
  return errorResult(answer.statusCode, answer.errorCode, answer.errorMessage);
}

/** What API Gateway answers when the integration itself fails: the unforeseen failure's body, as a 502. */
function integrationFailed(): APIGatewayProxyResult {
  return errorResult(502, UNFORESEEN.errorCode, UNFORESEEN.message);
}

/** Routes beside the history route, each optional so the server can be started with the history route alone. */
export interface ExtraRoutes {
  /** functions/get-archive-api.ts, for the ARCHIVE_ROUTES. */
  archiveHandler?: ProxyHandler | Promise<ProxyHandler>;
  /** The OpenAPI document (JSON text) served at OPENAPI_PATH. */
  openApiDocument?: string;
}

async function answerExtra(
  request: IncomingMessage,
  url: URL,
  extra: ExtraRoutes,
  functionName: string,
): Promise<APIGatewayProxyResult | undefined> {
  if (extra.openApiDocument !== undefined && url.pathname === OPENAPI_PATH) {
    if (request.method !== 'GET')
      return errorResult(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed; use GET`);
    return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: extra.openApiDocument };
  }
  if (!extra.archiveHandler) return undefined;
  for (const route of ARCHIVE_ROUTES) {
    const match = route.pattern.exec(url.pathname);
    if (!match) continue;
    if (request.method !== 'GET')
      return errorResult(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed; use GET`);
    return proxyGet(request, url, route.resource, route.parameters, match, extra.archiveHandler, functionName);
  }
  return undefined;
}

async function answer(
  request: IncomingMessage,
  handler: ProxyHandler | Promise<ProxyHandler>,
  functionName: string,
  health: (() => Promise<APIGatewayProxyResult>) | undefined,
  callbackHandler: ProxyHandler | Promise<ProxyHandler> | undefined,
  extra: ExtraRoutes,
): Promise<APIGatewayProxyResult> {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const extraResult = await answerExtra(request, url, extra, functionName);
  if (extraResult) return extraResult;
  if (health && url.pathname === HEALTH_PATH) {
    return request.method === 'GET'
      ? health()
      : errorResult(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed; use GET`);
  }
  if (callbackHandler && url.pathname.replace(/\/$/, '') === CALLBACK_ROUTE) {
    return answerCallback(request, url, callbackHandler);
  }
  const match = ROUTE.exec(url.pathname);
  if (!match) return errorResult(404, 'NOT_FOUND', `No route for ${url.pathname}; try GET ${HISTORY_RESOURCE}`);
  if (request.method !== 'GET')
    return errorResult(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed; use GET`);
  return proxyGet(request, url, HISTORY_RESOURCE, ['account', 'deviceId'], match, handler, functionName);
}

/** One GET route through its Lambda handler, as API Gateway's proxy integration delivers it. */
async function proxyGet(
  request: IncomingMessage,
  url: URL,
  resource: string,
  parameterNames: readonly string[],
  match: RegExpExecArray,
  handler: ProxyHandler | Promise<ProxyHandler>,
  functionName: string,
): Promise<APIGatewayProxyResult> {
  const pathParameters: Record<string, string> = {};
  try {
    // API Gateway hands the handler decoded path parameters.
    for (const [index, name] of parameterNames.entries()) pathParameters[name] = decodeURIComponent(match[index + 1]!);
  } catch {
    return invalidRequest('Path parameters are not valid percent-encoding');
  }
  try {
    const event = apiGatewayProxyEvent({
      method: request.method ?? 'GET',
      resource,
      path: url.pathname,
      pathParameters,
      headers: request.headers,
      searchParams: url.searchParams,
      sourceIp: request.socket.remoteAddress,
      httpVersion: request.httpVersion,
    });
    return await (await handler)(event, lambdaContext(functionName, TIMEOUT_MS));
  } catch {
    return integrationFailed();
  }
}

/** The ThingSpace callback listener's route (POST, functions/thingspace-callback.ts). */
export const CALLBACK_ROUTE = '/callbacks/thingspace';
/** npm start's health probe (local/health.ts). */
export const HEALTH_PATH = '/health';

async function answerCallback(
  request: IncomingMessage,
  url: URL,
  handler: ProxyHandler | Promise<ProxyHandler>,
): Promise<APIGatewayProxyResult> {
  if (request.method !== 'POST')
    return errorResult(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed; use POST`);
  // A client that goes away mid-body must not take the server down with an unhandled rejection.
  const read = await readCallbackBody(request).catch(() => undefined);
  if (read === undefined) return invalidRequest('The request body could not be read');
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
    result = await (await handler)(event, lambdaContext('fota-history-callback', TIMEOUT_MS));
  } catch {
    return integrationFailed();
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
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {}))
    response.setHeader(name, values.map(String));
  response.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
}

function accessEntry(request: IncomingMessage, result: APIGatewayProxyResult, ms: number): AccessEntry {
  const headers = Object.fromEntries(
    Object.entries(result.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
  );
  let records: number | undefined;
  if (result.statusCode === 200 && !result.isBase64Encoded && result.body.startsWith('[')) {
    try {
      records = (JSON.parse(result.body) as unknown[]).length;
    } catch {
      records = undefined;
    }
  }
  return {
    method: request.method ?? 'GET',
    path: new URL(request.url ?? '/', 'http://localhost').pathname,
    status: result.statusCode,
    ms: Math.round(ms * 10) / 10,
    stale: headers['x-history-stale'] === 'true',
    ...(records === undefined ? {} : { records }),
  };
}

export async function startLocalApiServer(
  options: ExtraRoutes & {
    /** A promise lets the server take the port before the handler is ready; requests wait for it. */
    handler: ProxyHandler | Promise<ProxyHandler>;
    port?: number;
    host?: string;
    functionName?: string;
    /** Serves POST /callbacks/thingspace with this handler (functions/thingspace-callback.ts). */
    callbackHandler?: ProxyHandler | Promise<ProxyHandler>;
    /** Serves GET /health when given. */
    health?: () => Promise<APIGatewayProxyResult>;
    /** Called once per answered request (the access line). */
    onAnswered?: (entry: AccessEntry) => void;
  },
): Promise<LocalApiServer> {
  const functionName = options.functionName ?? 'fota-history-api';
  // Handlers still running, whatever became of their connection: a client that hung up must not let a
  // stop close the store under a request's archive writes.
  const inFlight = new Set<Promise<void>>();
  const server: Server = createServer((request, response) => {
    const started = performance.now();
    const done = answer(request, options.handler, functionName, options.health, options.callbackHandler, options).then(
      (result) => {
        write(response, result, drain.closing);
        options.onAnswered?.(accessEntry(request, result, performance.now() - started));
      },
    );
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
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
    async close() {
      await drain.close(DRAIN_LIMIT_MS);
      await Promise.allSettled([...inFlight]);
    },
  };
}
