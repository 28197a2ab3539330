/**
 * Reading ThingSpace's error answers in the shapes they come in, with every secret of the request scrubbed
 * out first.
 */
import type { Exchange, RequestInit } from './exchange';

/** What a non-2xx ThingSpace body says, in the few shapes it comes in; never the raw body. */
export interface ErrorAnswer {
  errorCode?: string;
  errorMessage?: string;
}

const MAX_MESSAGE_LENGTH = 200;

/** Stands in for a token, secret or password that an error answer repeated. */
const REDACTED = '[REDACTED]';

/**
 * Every form in which a request's secrets could come back in an error answer: each value as sent,
 * percent-encoded, and escaped inside a JSON string. Longest first, so a secret that contains another
 * is replaced whole.
 */
export function secretForms(values: readonly (string | undefined)[]): string[] {
  const forms = new Set<string>();
  for (const value of values) {
    if (!value) continue;
    forms.add(value);
    forms.add(encodeURIComponent(value));
    forms.add(JSON.stringify(value).slice(1, -1));
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

/**
 * The secrets a request itself carries: its bearer token or Basic pair (encoded and decoded), its M2M
 * session token, and the username and password of a login body.
 */
function secretsOfRequest(init: RequestInit): string[] {
  const values: string[] = [];
  for (const [name, value] of Object.entries(init.headers)) {
    const lower = name.toLowerCase();
    if (lower === 'vz-m2m-token') values.push(value);
    if (lower !== 'authorization') continue;
    const credential = value.replace(/^\S+\s+/, '');
    values.push(credential);
    if (/^basic\s/i.test(value)) {
      const decoded = Buffer.from(credential, 'base64').toString('utf8');
      const separator = decoded.indexOf(':');
      values.push(decoded, decoded.slice(0, Math.max(0, separator)), decoded.slice(separator + 1));
    }
  }
  if (init.body) {
    try {
      const body: unknown = JSON.parse(init.body);
      if (typeof body === 'object' && body !== null) {
        const { username, password } = body as Record<string, unknown>;
        for (const value of [username, password]) if (typeof value === 'string') values.push(value);
      }
    } catch {
      // A form body (the token request) carries no secret.
    }
  }
  return secretForms(values);
}

/**
 * A non-2xx answer with every secret of its request replaced, before anyone reads it: whatever part of
 * the client looks at an error answer (the login and token steps included) can then log or pass on its
 * code and message. A 2xx answer is left alone: the token and login answers carry the new secrets.
 */
export function withoutEchoedSecrets(init: RequestInit, exchange: Exchange): Exchange {
  if (exchange.kind !== 'answer' || (exchange.status >= 200 && exchange.status < 300) || exchange.text === '')
    return exchange;
  return { ...exchange, text: scrubSecrets(exchange.text, secretsOfRequest(init)) };
}

/** Replaces every occurrence of every secret with REDACTED. */
function scrubSecrets(value: string, secrets: readonly string[]): string {
  let scrubbed = value;
  for (const secret of secrets) {
    if (secret && scrubbed.includes(secret)) scrubbed = scrubbed.split(secret).join(REDACTED);
  }
  return scrubbed;
}

/**
 * A short text for the caller and the logs, scrubbed of the secrets before it is cut, so that a cut
 * never leaves part of a secret behind.
 */
function shortText(value: unknown, secrets: readonly string[]): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const scrubbed = scrubSecrets(value, secrets);
  return scrubbed.length > MAX_MESSAGE_LENGTH ? `${scrubbed.slice(0, MAX_MESSAGE_LENGTH)}...` : scrubbed;
}

/**
 * `{errorCode, errorMessage}` (application errors), `{fault: {code, message}}` (the API gateway), or
 * `{error, error_description}` (OAuth). XML and text bodies yield nothing. `secrets` (see secretForms):
 * what the request carried, which a hostile or careless upstream might echo back.
 */
export function readErrorAnswer(text: string, secrets: readonly string[] = []): ErrorAnswer {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof value !== 'object' || value === null) return {};
  const body = value as Record<string, unknown>;
  if (typeof body.errorCode === 'string') {
    return { errorCode: shortText(body.errorCode, secrets), errorMessage: shortText(body.errorMessage, secrets) };
  }
  if (typeof body.fault === 'object' && body.fault !== null) {
    const fault = body.fault as Record<string, unknown>;
    return { errorCode: shortText(String(fault.code ?? ''), secrets), errorMessage: shortText(fault.message, secrets) };
  }
  if (typeof body.error === 'string') {
    return { errorCode: shortText(body.error, secrets), errorMessage: shortText(body.error_description, secrets) };
  }
  return {};
}

/** ThingSpace reports an idle-expired M2M session as a 400 application error, not as a 401. */
export function saysSessionExpired(answer: ErrorAnswer): boolean {
  return (
    /SessionToken\.(Expired|Invalid)/i.test(answer.errorCode ?? '') ||
    /session has expired/i.test(answer.errorMessage ?? '')
  );
}

export function syntheticErrorCode(status: number): string {
  return `UPSTREAM_HTTP_${status}`;
}
