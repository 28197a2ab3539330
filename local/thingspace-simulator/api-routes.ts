/**
 * The simulator's ThingSpace routes: the OAuth token, the M2M login and logout, and the FOTA history and
 * device list, each with ThingSpace's checks.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimulatorCore } from './core';
import { errorBody, gatewayFault, parseJsonObject, readBody, send, sendJson } from './http-util';
import type { FaultAction } from './types';

const ACCOUNT_FORMAT = /^[0-9]{1,32}(?:-[0-9]{1,16})?$/;
const DEVICE_ID_FORMAT = /^[0-9]{1,20}$/;
const START_INDEX_FORMAT = /^[0-9A-Za-z]{1,32}$/;

const SESSION_EXPIRED = errorBody('UnifiedWebService.REQUEST_FAILED.SessionToken.Expired', 'The Session has expired.');

type FotaRoute =
  | { kind: 'history'; account: string; deviceId: string }
  | { kind: 'list'; account: string; startIndex: string };

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** False when the bearer token is missing or invalid; the 401 has been sent. */
function bearerAccepted(core: SimulatorCore, request: IncomingMessage, response: ServerResponse): boolean {
  const check = core.auth.checkBearer(header(request, 'authorization'));
  if (check === 'missing') {
    sendJson(response, 401, gatewayFault('900902', 'Missing Credentials', 'Required OAuth credentials not provided'));
    return false;
  }
  if (check === 'invalid') {
    sendJson(
      response,
      401,
      gatewayFault('900901', 'Invalid Credentials', 'Access failure for API: invalid or expired access token'),
    );
    return false;
  }
  return true;
}

export async function handleToken(core: SimulatorCore, request: IncomingMessage, response: ServerResponse) {
  const form = new URLSearchParams(await readBody(request));
  const basic = /^Basic\s+(\S+)$/i.exec(header(request, 'authorization') ?? '')?.[1];
  const decoded = basic ? Buffer.from(basic, 'base64').toString('utf8') : '';
  const separator = decoded.indexOf(':');
  // An absent or unparsable Basic header is refused like a wrong key pair.
  const issued =
    separator > 0
      ? core.auth.issueToken(decoded.slice(0, separator), decoded.slice(separator + 1))
      : core.auth.issueToken('', '');
  if (!issued) {
    sendJson(response, 401, { error: 'invalid_client', error_description: 'Client Authentication failed.' });
    return;
  }
  if (form.get('grant_type') !== 'client_credentials') {
    sendJson(response, 400, { error: 'unsupported_grant_type', error_description: 'Unsupported grant_type value' });
    return;
  }
  sendJson(response, 200, {
    access_token: issued.accessToken,
    token_type: 'Bearer',
    expires_in: issued.expiresInSeconds,
    scope: 'ts.application.ro ts.mtas ts.configuration',
  });
}

export async function handleLogin(core: SimulatorCore, request: IncomingMessage, response: ServerResponse) {
  const text = await readBody(request);
  core.auth.loginRequests += 1;
  const fault = core.loginFaults.take(undefined);
  if (fault?.kind === 'hang') return;
  if (fault?.kind === 'status') {
    sendFaultOrAnswer(response, fault, fault.status, undefined);
    return;
  }
  // A delayed login is judged after the delay, as a ThingSpace that answers late still counts it.
  if (fault?.kind === 'delay') await core.wait(fault.delayMs);
  if (!bearerAccepted(core, request, response)) return;
  const body = parseJsonObject(text);
  if (!body || typeof body.username !== 'string' || typeof body.password !== 'string') {
    sendJson(response, 400, errorBody('INVALID_PARAMETER', 'username and password are required'));
    return;
  }
  const result = core.auth.login(body.username, body.password);
  if ('sessionToken' in result) {
    sendJson(response, 200, { sessionToken: result.sessionToken });
  } else if (result.refused === 'locked') {
    sendJson(
      response,
      400,
      errorBody('UnifiedWebService.AUTH.UserLocked', 'The user is locked. Contact Verizon support.'),
    );
  } else {
    sendJson(response, 400, errorBody('UnifiedWebService.AUTH.Failed', 'Invalid username or password.'));
  }
}

export async function handleLogout(core: SimulatorCore, request: IncomingMessage, response: ServerResponse) {
  await readBody(request);
  if (!bearerAccepted(core, request, response)) return;
  const loggedOut = core.auth.logout(header(request, 'vz-m2m-token'));
  if (loggedOut) sendJson(response, 200, {});
  else sendJson(response, 400, SESSION_EXPIRED);
}

export function parseFotaRoute(segments: readonly string[]): FotaRoute | undefined {
  const [api, fota, v1, collection, account, kind, last, ...rest] = segments;
  if (api !== 'api' || fota !== 'fota' || v1 !== 'v1' || rest.length > 0) return undefined;
  if (!account || last === undefined) return undefined;
  if (collection === 'reports' && kind === 'devices') return { kind: 'history', account, deviceId: last };
  if (collection === 'devices' && kind === 'index') return { kind: 'list', account, startIndex: last };
  return undefined;
}

function invalidParameter(route: FotaRoute): string | undefined {
  if (!ACCOUNT_FORMAT.test(route.account)) return 'Invalid account name format';
  if (route.kind === 'history' && !DEVICE_ID_FORMAT.test(route.deviceId)) return 'Invalid device id format';
  if (route.kind === 'list' && !START_INDEX_FORMAT.test(route.startIndex)) return 'Invalid startIndex format';
  return undefined;
}

function answerBody(core: SimulatorCore, route: FotaRoute): { status: number; body: unknown } {
  const problem = invalidParameter(route);
  if (problem) return { status: 400, body: errorBody('INVALID_PARAMETER', problem) };
  const body =
    route.kind === 'history'
      ? core.fleet.history(route.account, route.deviceId)
      : core.fleet.listPage(route.account, route.startIndex, core.pageSize);
  if (body === undefined) {
    return {
      status: 400,
      body: errorBody('UnifiedWebService.REQUEST_FAILED.AccountNotFound', 'Account not found or not accessible'),
    };
  }
  return { status: 200, body };
}

function sendFaultOrAnswer(response: ServerResponse, fault: FaultAction | undefined, status: number, body: unknown) {
  if (fault?.kind === 'status') {
    const text =
      typeof fault.body === 'string'
        ? fault.body
        : JSON.stringify(fault.body ?? errorBody('SIMULATED_FAULT', 'Simulated failure'));
    const contentType = typeof fault.body === 'string' ? 'text/plain' : 'application/json';
    send(response, fault.status, text, contentType, fault.headers);
    return;
  }
  if (fault?.kind === 'truncated') {
    const text = JSON.stringify(body);
    send(response, status, text.slice(0, Math.max(1, Math.floor(text.length / 2))));
    return;
  }
  if (fault?.kind === 'wrong-shape') {
    sendJson(response, status, { data: body });
    return;
  }
  sendJson(response, status, body);
}

/** Both tokens checked as for any FOTA call; false when refused (the answer has been sent). */
export function fotaCallAuthorized(core: SimulatorCore, request: IncomingMessage, response: ServerResponse): boolean {
  if (!bearerAccepted(core, request, response)) return false;
  const session = core.auth.useSession(header(request, 'vz-m2m-token'));
  if (session === 'missing') {
    sendJson(
      response,
      400,
      errorBody('UnifiedWebService.REQUEST_FAILED.SessionToken.Missing', 'Session token is missing.'),
    );
    return false;
  }
  if (session === 'expired') {
    sendJson(response, 400, SESSION_EXPIRED);
    return false;
  }
  return true;
}

export async function handleFota(
  core: SimulatorCore,
  request: IncomingMessage,
  response: ServerResponse,
  route: FotaRoute,
) {
  await readBody(request);
  if (route.kind === 'history') core.log.countHistoryCall(route.deviceId);
  else core.log.listCalls += 1;
  if (!bearerAccepted(core, request, response)) return;
  const session = core.auth.useSession(header(request, 'vz-m2m-token'));
  if (session === 'missing') {
    sendJson(
      response,
      400,
      errorBody('UnifiedWebService.REQUEST_FAILED.SessionToken.Missing', 'Session token is missing.'),
    );
    return;
  }
  if (session === 'expired') {
    sendJson(response, 400, SESSION_EXPIRED);
    return;
  }
  const fault = core.faults.take(route.kind === 'history' ? route.deviceId : undefined);
  await core.wait(core.faults.latencyMs);
  if (fault?.kind === 'hang') return;
  if (fault?.kind === 'delay') await core.wait(fault.delayMs);
  if (fault?.kind === 'echo-tokens') {
    const bearer = header(request, 'authorization') ?? '';
    const session = header(request, 'vz-m2m-token') ?? '';
    sendJson(
      response,
      400,
      errorBody(`UnifiedWebService.REQUEST_FAILED.${session}`, `Rejected ${bearer} with VZ-M2M-Token ${session}`),
    );
    return;
  }
  const { status, body } = answerBody(core, route);
  sendFaultOrAnswer(response, fault, status, body);
}
