/**
 * The test switches over HTTP, so a simulator started by `npm start` can be driven with curl:
 * `curl -X POST localhost:PORT/_simulator/fail -d '{"count":3,"status":503}'`. `GET /_simulator` lists
 * them all, from the one table below, with each body's JSON schema and an example.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from 'zod/mini';
import { IN_ENGLISH } from '../../adapters/zod-english';
import { errorBody, readBody, sendJson } from './http-util';
import type { ThingSpaceSimulator } from './simulator';
import type { FaultAction } from './types';

const httpStatus = z.number().check(z.int(), z.minimum(100), z.maximum(599));
const faultAction = z.union([
  z.object({
    kind: z.literal('status'),
    status: httpStatus,
    body: z.optional(z.unknown()),
    headers: z.optional(z.record(z.string(), z.string())),
  }),
  z.object({ kind: z.literal('delay'), delayMs: z.number().check(z.minimum(0)) }),
  z.object({ kind: z.literal('hang') }),
  z.object({ kind: z.literal('truncated') }),
  z.object({ kind: z.literal('wrong-shape') }),
  z.object({ kind: z.literal('echo-tokens') }),
]) satisfies z.ZodMiniType<FaultAction>;
const count = z
  ._default(z.number().check(z.int(), z.minimum(1)), 1)
  .check(z.describe('how many FOTA calls it applies to'));
const record = z.object({
  deviceId: z.string(),
  id: z.string(),
  accountName: z.string(),
  firmwareFrom: z.string(),
  firmwareTo: z.string(),
  startDate: z.string(),
  upgradeStartTime: z.string(),
  status: z.string(),
  reason: z.string(),
});
const recordKeyShape = { account: z.string(), deviceId: z.string(), id: z.string() };

interface Switch<Schema extends z.ZodMiniType = z.ZodMiniType> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  name: string;
  description: string;
  /** Absent: the switch takes no body. */
  body?: Schema;
  example?: z.input<Schema>;
  run(simulator: ThingSpaceSimulator, input: z.output<Schema>): unknown;
}

/** Keeps each entry's example and handler typed against its own schema. */
function define<Schema extends z.ZodMiniType>(entry: Switch<Schema>): Switch {
  return entry as unknown as Switch;
}

const DEMO_DEVICE = '990000473475989';
const DEMO_ACCOUNT = '0242078689-00001';

/** Every switch. Add one here and it is served and listed. */
export const SWITCHES: readonly Switch[] = [
  define({
    method: 'GET',
    name: 'stats',
    description: 'counters: requests, tokens, logins, history and list calls',
    run: (s) => s.stats(),
  }),
  define({
    method: 'GET',
    name: 'requests',
    description: 'the recent requests (method, path, status)',
    run: (s) => s.requests(),
  }),
  define({
    method: 'GET',
    name: 'callbacks-sent',
    description: 'the FOTA callbacks the simulator has POSTed to registered listeners',
    run: (s) => s.callbacksSent(),
  }),
  define({
    method: 'POST',
    name: 'reset',
    description: 'clear faults and counters (data, credentials, tokens and sessions stay)',
    run: (s) => s.reset(),
  }),
  define({
    method: 'POST',
    name: 'expire-tokens',
    description: 'expire every OAuth token (the next call gets 401)',
    run: (s) => s.expireAccessTokens(),
  }),
  define({
    method: 'POST',
    name: 'expire-sessions',
    description: 'expire every M2M session (SessionToken.Expired)',
    run: (s) => s.expireSessions(),
  }),
  define({
    method: 'POST',
    name: 'unlock-user',
    description: 'unlock the API user after five failed logins (Verizon support, in real life)',
    run: (s) => s.unlockUser(),
  }),
  define({
    method: 'POST',
    name: 'fail',
    description: 'the next FOTA calls answer with this HTTP status (and body)',
    body: z.strictObject({
      count,
      status: httpStatus,
      body: z.optional(z.unknown()),
      retryAfterSeconds: z.optional(z.number().check(z.minimum(0))),
    }),
    example: { count: 8, status: 503 },
    run: (s, input) =>
      s.failNext(input.count, input.status, { body: input.body, retryAfterSeconds: input.retryAfterSeconds }),
  }),
  define({
    method: 'POST',
    name: 'slow',
    description: 'the next FOTA calls answer after delayMs, or never (hang: true) until the client times out',
    body: z
      .strictObject({ count, delayMs: z.optional(z.number().check(z.minimum(0))), hang: z.optional(z.boolean()) })
      .check(z.refine((input) => input.delayMs !== undefined || input.hang === true, 'give delayMs or "hang": true')),
    example: { count: 1, delayMs: 3000 },
    run: (s, input) => (input.hang ? s.hangNext(input.count) : s.slowNext(input.count, input.delayMs ?? 0)),
  }),
  define({
    method: 'POST',
    name: 'malformed',
    description:
      'the next FOTA calls answer with JSON cut in half (truncated) or not in the documented shape (wrong-shape)',
    body: z.strictObject({ count, kind: z.enum(['truncated', 'wrong-shape']) }),
    example: { count: 1, kind: 'truncated' },
    run: (s, input) => s.malformNext(input.count, input.kind),
  }),
  define({
    method: 'POST',
    name: 'faults',
    description: 'queue any fault action (status, delay, hang, truncated, wrong-shape), optionally for one device',
    body: z.strictObject({ action: faultAction, count, deviceId: z.optional(z.string()) }),
    example: { action: { kind: 'status', status: 429 }, count: 2, deviceId: DEMO_DEVICE },
    run: (s, input) => s.injectFault(input.action, input.count, input.deviceId),
  }),
  define({
    method: 'POST',
    name: 'login-faults',
    description: 'the next M2M logins get the fault action (e.g. a refusal that arrives after the client timed out)',
    body: z.strictObject({ action: faultAction, count }),
    example: { action: { kind: 'status', status: 401 }, count: 1 },
    run: (s, input) => s.injectLoginFault(input.action, input.count),
  }),
  define({
    method: 'PUT',
    name: 'device-fault',
    description: 'every FOTA call for this device gets the action until it is set to null',
    body: z.strictObject({ deviceId: z.string(), action: z.nullable(faultAction) }),
    example: { deviceId: DEMO_DEVICE, action: { kind: 'status', status: 500 } },
    run: (s, input) => s.setDeviceFault(input.deviceId, input.action ?? undefined),
  }),
  define({
    method: 'PUT',
    name: 'latency',
    description: 'added to every FOTA answer',
    body: z.strictObject({ latencyMs: z.number().check(z.minimum(0)) }),
    example: { latencyMs: 50 },
    run: (s, input) => s.setLatency(input.latencyMs),
  }),
  define({
    method: 'PUT',
    name: 'history',
    description: "replace a device's live history (the account and device are created when new)",
    body: z.strictObject({ account: z.string(), deviceId: z.string(), records: z.array(record) }),
    example: {
      account: DEMO_ACCOUNT,
      deviceId: '990000000000002',
      records: [
        {
          deviceId: '990000000000002',
          id: 'c0ffee00-0000-4000-8000-000000000001',
          accountName: DEMO_ACCOUNT,
          firmwareFrom: 'VerizonFirmwareVersion-01',
          firmwareTo: 'VerizonFirmwareVersion-02',
          startDate: '2026-11-02',
          upgradeStartTime: '2026-11-02T10:00:00Z',
          status: 'UpgradeSuccess',
          reason: 'success',
        },
      ],
    },
    run: (s, input) => s.setHistory(input.account, input.deviceId, input.records),
  }),
  define({
    method: 'PATCH',
    name: 'record',
    description: 'change fields of one live record (e.g. a failed upgrade reported as successful later)',
    body: z.strictObject({ ...recordKeyShape, changes: z.partial(record) }),
    example: {
      account: DEMO_ACCOUNT,
      deviceId: DEMO_DEVICE,
      id: '0b1a6f5e-3c51-4e8e-9d7a-1f2c3d4e5f60',
      changes: { status: 'UpgradeSuccess', reason: 'success' },
    },
    run: (s, input) => ({ updated: s.updateRecord(input.account, input.deviceId, input.id, input.changes) }),
  }),
  define({
    method: 'DELETE',
    name: 'record',
    description: 'remove one live record (as if it left the six-month window)',
    body: z.strictObject(recordKeyShape),
    example: { account: DEMO_ACCOUNT, deviceId: DEMO_DEVICE, id: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d' },
    run: (s, input) => ({ removed: s.removeRecord(input.account, input.deviceId, input.id) }),
  }),
  define({
    method: 'PUT',
    name: 'live-since',
    description: 'upgrades that started before this day (YYYY-MM-DD) leave the live answer; null shows all again',
    body: z.strictObject({ account: z.string(), since: z.nullable(z.string()) }),
    example: { account: DEMO_ACCOUNT, since: '2025-04-01' },
    run: (s, input) => s.setLiveSince(input.account, input.since ?? undefined),
  }),
  define({
    method: 'POST',
    name: 'synthetic-fleet',
    description: 'add an account of generated devices (deterministic 15-digit ids and histories)',
    body: z.strictObject({
      account: z.string(),
      size: z.number().check(z.int(), z.minimum(0)),
      recordsPerDevice: z.number().check(z.int(), z.minimum(0)),
    }),
    example: { account: '0000000001-00001', size: 1000, recordsPerDevice: 3 },
    run: (s, input) => {
      s.addSyntheticFleet(input.account, input);
    },
  }),
];

/** GET /_simulator: every switch with its body's JSON schema and an example. */
function switchListing() {
  return SWITCHES.map((entry) => ({
    method: entry.method,
    path: `/_simulator/${entry.name}`,
    description: entry.description,
    ...(entry.body
      ? { body: z.toJSONSchema(entry.body, { io: 'input', unrepresentable: 'any' }), example: entry.example }
      : { body: null }),
  }));
}

/** A zod failure as one readable line: `status: expected number, received undefined; count: ...`. */
function describeIssues(error: z.core.$ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`)
    .join('; ');
}

export async function handleControl(
  simulator: ThingSpaceSimulator,
  request: IncomingMessage,
  response: ServerResponse,
  action: string | undefined,
): Promise<void> {
  const text = await readBody(request);
  const method = request.method ?? 'GET';
  if (action === undefined) {
    if (method !== 'GET') {
      sendJson(response, 405, errorBody('METHOD_NOT_ALLOWED', 'GET /_simulator lists the switches'));
      return;
    }
    sendJson(response, 200, { switches: switchListing() });
    return;
  }
  const entry = SWITCHES.find((candidate) => candidate.method === method && candidate.name === action);
  if (!entry) {
    sendJson(
      response,
      404,
      errorBody('NOT_FOUND', `no simulator switch ${method} /_simulator/${action}; GET /_simulator lists them`),
    );
    return;
  }
  let input: unknown;
  if (entry.body) {
    if (text.trim() === '') {
      sendJson(
        response,
        400,
        errorBody(
          'INVALID_PARAMETER',
          `${method} /_simulator/${action} needs a JSON body, e.g. ${JSON.stringify(entry.example)}`,
        ),
      );
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      sendJson(
        response,
        400,
        errorBody('INVALID_PARAMETER', `the body is not JSON; e.g. ${JSON.stringify(entry.example)}`),
      );
      return;
    }
    const parsed = entry.body.safeParse(json, IN_ENGLISH);
    if (!parsed.success) {
      sendJson(
        response,
        400,
        errorBody('INVALID_PARAMETER', `${method} /_simulator/${action}: ${describeIssues(parsed.error)}`),
      );
      return;
    }
    input = parsed.data;
  }
  const result = entry.run(simulator, input);
  sendJson(response, 200, result ?? { ok: true });
}
