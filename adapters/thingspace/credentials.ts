/**
 * The ThingSpace credentials secret: its shape, reading it without ever echoing it, and the error when it
 * cannot be read.
 */
import type { CallbackCredentials } from '../../domain/callback-payload';

/** The ThingSpace credentials secret's JSON shape: the app's OAuth key pair and the UWS API user. */
export interface ThingSpaceCredentials {
  appKey: string;
  appSecret: string;
  username: string;
  password: string;
}

/** Returns the current credentials; may be cached with a finite expiry so rotations are picked up. */
export type CredentialsProvider = () => Promise<ThingSpaceCredentials>;

const FIELDS = ['appKey', 'appSecret', 'username', 'password'] as const;

/**
 * Validates a parsed secret. The message names the missing fields, never their values.
 */
function parseCredentials(value: unknown): ThingSpaceCredentials {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('ThingSpace credentials must be a JSON object {"appKey","appSecret","username","password"}');
  }
  const source = value as Record<string, unknown>;
  const missing = FIELDS.filter((field) => typeof source[field] !== 'string' || source[field] === '');
  if (missing.length > 0) {
    throw new Error(`ThingSpace credentials lack non-empty string field(s): ${missing.join(', ')}`);
  }
  return {
    appKey: source.appKey as string,
    appSecret: source.appSecret as string,
    username: source.username as string,
    password: source.password as string,
  };
}

/** Parses credentials from JSON text (an environment variable or a secret string) without echoing it. */
export function parseCredentialsJson(text: string): ThingSpaceCredentials {
  return parseCredentials(parseSecretJson(text));
}

/**
 * JSON.parse, but its error never quotes the text: Node's message does ("..."password": hunter2"... is
 * not valid JSON"), and an error's message and causes reach the logs. Powertools' `transform: 'json'`
 * passes that message on, so secrets are read as strings and parsed here.
 */
export function parseSecretJson(text: unknown): unknown {
  const string = text instanceof Uint8Array ? new TextDecoder().decode(text) : text;
  if (typeof string !== 'string') throw new Error('the ThingSpace secret has no SecretString');
  try {
    return JSON.parse(string);
  } catch {
    throw new Error(
      'ThingSpace credentials are not valid JSON (expected {"appKey","appSecret","username","password"})',
    );
  }
}

/**
 * The secret's optional `callbackUsername` and `callbackPassword` fields: both set and non-empty, or
 * undefined (no callback listener). Half a pair is an error, named without the values.
 */
export function parseCallbackCredentials(value: unknown): CallbackCredentials | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const source = value as Record<string, unknown>;
  const username = source.callbackUsername;
  const password = source.callbackPassword;
  if (username === undefined && password === undefined) return undefined;
  if (typeof username !== 'string' || username === '' || typeof password !== 'string' || password === '') {
    throw new Error(
      'ThingSpace secret: callbackUsername and callbackPassword must both be non-empty strings, or both absent',
    );
  }
  return { username, password };
}

/**
 * Why the credentials could not be read, in the operator's terms. None of them involves ThingSpace:
 * it was never asked, so this is not a refusal of the credentials.
 */
export type CredentialsUnavailableReason =
  | 'not-found'
  | 'access-denied'
  | 'no-aws-credentials'
  | 'not-json'
  | 'wrong-shape'
  | 'unreadable';

/**
 * The credentials secret could not be read (missing, access denied, no AWS credentials to read it
 * with, not JSON, wrong shape). The message names the secret and the cause, never its content.
 */
export class CredentialsUnavailableError extends Error {
  constructor(
    readonly reason: CredentialsUnavailableReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CredentialsUnavailableError';
  }
}
