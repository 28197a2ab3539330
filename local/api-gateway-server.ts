import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { apiGatewayProxyEvent, HISTORY_RESOURCE, lambdaContext } from './lambda-emulation';

export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

const ROUTE = /^\/reports\/([^/]+)\/devices\/([^/]+)\/?$/;
/** The archive routes (lib/history-api.ts): resource, path pattern, and the names of its path parameters. */
export const ARCHIVE_ROUTES = [
  { resource: '/archive/{account}/devices/{deviceId}', pattern: /^\/archive\/([^/]+)\/devices\/([^/]+)\/?$/, parameters: ['account', 'deviceId'] },
  { resource: '/archive/{account}/upgrades', pattern: /^\/archive\/([^/]+)\/upgrades\/?$/, parameters: ['account'] },
] as const;
/** Where the OpenAPI description of every route is served. */
export const OPENAPI_PATH = '/openapi.json';
/** API Gateway's integration timeout, so the handler's deadline logic behaves as deployed. */
const TIMEOUT_MS = 28_000;

export interface LocalApiServer {
  url: string;
  /** Stops accepting connections and resolves once every request in flight has been answered. */
  close(): Promise<void>;
}

function errorResult(statusCode: number, errorCode: string, errorMessage: string): APIGatewayProxyResult {
  return { statusCode, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ errorCode, errorMessage }) };
}

/** Routes beside the history route, each optional so the server can be started with the history route alone. */
export interface ExtraRoutes {
  /** functions/get-archive-api.ts, for the ARCHIVE_ROUTES. */
  archiveHandler?: ProxyHandler;
  /** The OpenAPI document (JSON text) served at OPENAPI_PATH. */
  openApiDocument?: string;
}

async function answerExtra(request: IncomingMessage, url: URL, extra: ExtraRoutes, functionName: string): Promise<APIGatewayProxyResult | undefined> {
  if (extra.openApiDocument !== undefined && url.pathname === OPENAPI_PATH) {
    if (request.method !== 'GET') return errorResult(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed; use GET`);
    return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: extra.openApiDocument };
  }
  if (!extra.archiveHandler) return undefined;
  for (const route of ARCHIVE_ROUTES) {
    const match = route.pattern.exec(url.pathname);
    if (!match) continue;
    if (request.method !== 'GET') return errorResult(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed; use GET`);
    const pathParameters: Record<string, string> = {};
    try {
      route.parameters.forEach((name, index) => (pathParameters[name] = decodeURIComponent(match[index + 1]!)));
    } catch {
      return errorResult(400, 'INVALID_PARAMETER', 'Path parameters are not valid percent-encoding');
    }
    try {
      const event = apiGatewayProxyEvent({
        method: request.method ?? 'GET',
        resource: route.resource,
        path: url.pathname,
        pathParameters,
        headers: request.headers,
        searchParams: url.searchParams,
        sourceIp: request.socket.remoteAddress,
        httpVersion: request.httpVersion,
      });
      return await extra.archiveHandler(event, lambdaContext(functionName, TIMEOUT_MS));
    } catch {
      return errorResult(502, 'INTERNAL_ERROR', 'The service failed to answer; retry later');
    }
  }
  return undefined;
}

async function answer(request: IncomingMessage, handler: ProxyHandler, functionName: string, extra: ExtraRoutes = {}): Promise<APIGatewayProxyResult> {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const extraResult = await answerExtra(request, url, extra, functionName);
  if (extraResult) return extraResult;
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

function write(response: ServerResponse, result: APIGatewayProxyResult): void {
  response.statusCode = result.statusCode;
  for (const [name, value] of Object.entries(result.headers ?? {})) response.setHeader(name, String(value));
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) response.setHeader(name, values.map(String));
  response.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
}

/**
 * Serves the Lambda handler over HTTP the way API Gateway's Lambda proxy integration does: each
 * request becomes the API Gateway event, the handler's result becomes the response.
 */
export async function startLocalApiServer(options: ExtraRoutes & {
  handler: ProxyHandler;
  port?: number;
  host?: string;
  functionName?: string;
}): Promise<LocalApiServer> {
  const functionName = options.functionName ?? 'fota-history-api';
  const inFlight = new Set<Promise<void>>();
  const server: Server = createServer((request, response) => {
    const done = answer(request, options.handler, functionName, options).then((result) => write(response, result));
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  });
  server.keepAliveTimeout = 5_000;

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
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.allSettled([...inFlight]);
      server.closeAllConnections();
      await closed;
    },
  };
}
