/**
 * A ThingSpace FOTA callback: authenticated by the credentials registered with it (HTTP Basic, or the
 * body's username/password), it enqueues one sync of each device it names and nothing else.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  bodyCredentials,
  CALLBACK_BODY_LIMIT_BYTES,
  type CallbackCredentials,
  devicesNamedBy,
  parseCallbackBody,
} from '../domain/callback-payload';
import { FailureError, invalidParameter } from '../domain/failure';
import type { DeviceSyncQueue } from './discover-fleet';

export interface CallbackRequest {
  /** The raw body, already decoded from base64 if it was. */
  body: string;
  /** The Authorization header, if any. */
  authorization?: string;
}

export interface CallbackDependencies {
  /** The username/password registered with ThingSpace; undefined when no listener is configured. */
  credentials(): Promise<CallbackCredentials | undefined>;
  /** The fleet sync's queue: a callback only ever asks for a sync. */
  syncQueue: DeviceSyncQueue;
}

/**
 * The archive and the change events then come from ThingSpace's own history, never from the callback
 * body. A duplicate callback costs one more sync of its devices, which writes nothing if nothing changed.
 */
export async function acceptCallback(
  request: CallbackRequest,
  dependencies: CallbackDependencies,
): Promise<{ accepted: number }> {
  const expected = await dependencies.credentials();
  if (!expected) throw new FailureError({ kind: 'callback-not-configured' }, 'no callback credentials are configured');
  if (Buffer.byteLength(request.body, 'utf8') > CALLBACK_BODY_LIMIT_BYTES) {
    throw new FailureError(
      { kind: 'callback-too-large', limitBytes: CALLBACK_BODY_LIMIT_BYTES },
      'callback body too large',
    );
  }
  // HTTP Basic is checked before the body is parsed at all; only body credentials need the parse first.
  const basic = basicCredentials(request.authorization);
  let parsed = basic ? undefined : parseCallbackBody(request.body);
  const presented = basic ?? (parsed?.ok ? bodyCredentials(parsed.value) : undefined);
  // Authentication first: a caller without the credentials learns nothing about what a valid body is.
  if (!presented || !sameCredentials(presented, expected)) {
    throw new FailureError({ kind: 'callback-unauthorized' }, 'callback credentials missing or wrong');
  }
  parsed ??= parseCallbackBody(request.body);
  if (!parsed.ok) throw invalidParameter('The callback body is not a JSON object');
  const devices = devicesNamedBy(parsed.value);
  await dependencies.syncQueue.enqueue(devices);
  return { accepted: devices.length };
}

function basicCredentials(header: string | undefined): CallbackCredentials | undefined {
  const encoded = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '')?.[1];
  if (!encoded) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  if (separator < 0) return undefined;
  return { username: decoded.slice(0, separator), password: decoded.slice(separator + 1) };
}

/** Constant time whatever the lengths: the digests are compared, both fields always. */
function sameCredentials(presented: CallbackCredentials, expected: CallbackCredentials): boolean {
  const usernameMatches = timingSafeEqual(digest(presented.username), digest(expected.username));
  const passwordMatches = timingSafeEqual(digest(presented.password), digest(expected.password));
  return usernameMatches && passwordMatches;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
