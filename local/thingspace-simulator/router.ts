/** Sends each request to the simulator to its route (ThingSpace's API, callbacks, the test switches). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fotaCallAuthorized, handleFota, handleLogin, handleLogout, handleToken, parseFotaRoute } from './api-routes';
import { handleCallbacks, parseCallbacksRoute } from './callbacks';
import { handleControl } from './control-routes';
import type { SimulatorCore } from './core';
import { NOT_FOUND_XML, send, sendJson } from './http-util';
import type { ThingSpaceSimulator } from './simulator';

function pathSegments(pathname: string): string[] | undefined {
  try {
    return pathname
      .split('/')
      .filter((segment) => segment !== '')
      .map((segment) => decodeURIComponent(segment));
  } catch {
    return undefined;
  }
}

export async function route(
  simulator: ThingSpaceSimulator,
  core: SimulatorCore,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const pathname = new URL(request.url ?? '/', 'http://simulator').pathname;
  const method = request.method ?? 'GET';
  const segments = pathSegments(pathname);
  if (!segments) {
    sendJson(response, 400, { errorCode: 'INVALID_PARAMETER', errorMessage: 'Malformed path encoding' });
    return;
  }
  if (segments[0] === '_simulator' && segments.length <= 2) {
    await handleControl(simulator, request, response, segments[1]);
    return;
  }
  if (method === 'POST' && pathname === '/api/ts/v1/oauth2/token') return handleToken(core, request, response);
  if (method === 'POST' && pathname === '/api/m2m/v1/session/login') return handleLogin(core, request, response);
  if (method === 'POST' && pathname === '/api/m2m/v1/session/logout') return handleLogout(core, request, response);
  const callbacks = parseCallbacksRoute(method, segments);
  if (callbacks)
    return handleCallbacks(core, request, response, callbacks, () => fotaCallAuthorized(core, request, response));
  const fota = method === 'GET' ? parseFotaRoute(segments) : undefined;
  if (fota) return handleFota(core, request, response, fota);
  send(response, 404, NOT_FOUND_XML, 'application/xml');
}
