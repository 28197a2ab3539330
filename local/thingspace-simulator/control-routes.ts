import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { ThingSpaceSimulator } from './simulator';
import { readBody, sendJson } from './http-util';
import type { FaultAction } from './types';

/**
 * The test switches over HTTP, so a simulator started by `npm start` can be driven with curl:
 * `curl -X POST localhost:PORT/_simulator/fail -d '{"count":3,"status":503}'`.
 */

const faultAction: z.ZodType<FaultAction> = z.union([
  z.object({
    kind: z.literal('status'),
    status: z.number().int().min(100).max(599),
    body: z.unknown().optional(),
    headers: z.record(z.string(), z.string()).optional(),
  }),
  z.object({ kind: z.literal('delay'), delayMs: z.number().min(0) }),
  z.object({ kind: z.literal('hang') }),
  z.object({ kind: z.literal('truncated') }),
  z.object({ kind: z.literal('wrong-shape') }),
  z.object({ kind: z.literal('echo-tokens') }),
]);
const count = z.number().int().min(1).default(1);
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
const recordKey = z.object({ account: z.string(), deviceId: z.string(), id: z.string() });

type Handler = (simulator: ThingSpaceSimulator, body: unknown) => unknown;

const handlers: Record<string, Handler> = {
  'GET stats': (simulator) => simulator.stats(),
  'GET requests': (simulator) => simulator.requests(),
  'GET callbacks-sent': (simulator) => simulator.callbacksSent(),
  'POST reset': (simulator) => simulator.reset(),
  'POST expire-tokens': (simulator) => simulator.expireAccessTokens(),
  'POST expire-sessions': (simulator) => simulator.expireSessions(),
  'POST unlock-user': (simulator) => simulator.unlockUser(),
  'POST faults': (simulator, body) => {
    const input = z.object({ action: faultAction, count, deviceId: z.string().optional() }).parse(body);
    simulator.injectFault(input.action, input.count, input.deviceId);
  },
  'POST login-faults': (simulator, body) => {
    const input = z.object({ action: faultAction, count }).parse(body);
    simulator.injectLoginFault(input.action, input.count);
  },
  'POST fail': (simulator, body) => {
    const input = z
      .object({ count, status: z.number().int().min(100).max(599), body: z.unknown().optional(), retryAfterSeconds: z.number().optional() })
      .parse(body);
    simulator.failNext(input.count, input.status, { body: input.body, retryAfterSeconds: input.retryAfterSeconds });
  },
  'POST slow': (simulator, body) => {
    const input = z.object({ count, delayMs: z.number().min(0).optional(), hang: z.boolean().optional() }).parse(body);
    if (input.hang) simulator.hangNext(input.count);
    else simulator.slowNext(input.count, input.delayMs ?? 0);
  },
  'POST malformed': (simulator, body) => {
    const input = z.object({ count, kind: z.enum(['truncated', 'wrong-shape']).default('truncated') }).parse(body);
    simulator.malformNext(input.count, input.kind);
  },
  'PUT device-fault': (simulator, body) => {
    const input = z.object({ deviceId: z.string(), action: faultAction.nullable() }).parse(body);
    simulator.setDeviceFault(input.deviceId, input.action ?? undefined);
  },
  'PUT latency': (simulator, body) => simulator.setLatency(z.object({ latencyMs: z.number().min(0) }).parse(body).latencyMs),
  'PUT history': (simulator, body) => {
    const input = z.object({ account: z.string(), deviceId: z.string(), records: z.array(record) }).parse(body);
    simulator.setHistory(input.account, input.deviceId, input.records);
  },
  'PATCH record': (simulator, body) => {
    const input = recordKey.extend({ changes: record.partial() }).parse(body);
    return { updated: simulator.updateRecord(input.account, input.deviceId, input.id, input.changes) };
  },
  'DELETE record': (simulator, body) => {
    const input = recordKey.parse(body);
    return { removed: simulator.removeRecord(input.account, input.deviceId, input.id) };
  },
  'PUT live-since': (simulator, body) => {
    const input = z.object({ account: z.string(), since: z.string().nullable() }).parse(body);
    simulator.setLiveSince(input.account, input.since ?? undefined);
  },
  'POST synthetic-fleet': (simulator, body) => {
    const input = z
      .object({ account: z.string(), size: z.number().int().min(0), recordsPerDevice: z.number().int().min(0) })
      .parse(body);
    simulator.addSyntheticFleet(input.account, input);
  },
};

export async function handleControl(
  simulator: ThingSpaceSimulator,
  request: IncomingMessage,
  response: ServerResponse,
  action: string,
): Promise<void> {
  const text = await readBody(request);
  const handler = handlers[`${request.method ?? 'GET'} ${action}`];
  if (!handler) {
    sendJson(response, 404, { error: `no simulator switch ${request.method} /_simulator/${action}`, switches: Object.keys(handlers) });
    return;
  }
  try {
    const result = handler(simulator, text ? JSON.parse(text) : {});
    sendJson(response, 200, result ?? { ok: true });
  } catch (error) {
    sendJson(response, 400, { error: error instanceof Error ? error.message : 'invalid request' });
  }
}
