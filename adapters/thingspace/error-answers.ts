/** What a non-2xx ThingSpace body says, in the few shapes it comes in; never the raw body. */
export interface ErrorAnswer {
  errorCode?: string;
  errorMessage?: string;
}

const MAX_MESSAGE_LENGTH = 200;

/** Stands in for a token, secret or password that an error answer repeated. */
export const REDACTED = '[REDACTED]';

/**
 * Every form in which a request's secrets could come back in an error answer: each value as sent, and
 * percent-encoded. Longest first, so a secret that contains another is replaced whole.
 */
export function secretForms(values: readonly (string | undefined)[]): string[] {
  const forms = new Set<string>();
  for (const value of values) {
    if (!value) continue;
    forms.add(value);
    forms.add(encodeURIComponent(value));
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

/** Replaces every occurrence of every secret with REDACTED. */
export function scrubSecrets(value: string, secrets: readonly string[]): string {
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
    /SessionToken\.(Expired|Invalid)/i.test(answer.errorCode ?? '') || /session has expired/i.test(answer.errorMessage ?? '')
  );
}

export function syntheticErrorCode(status: number): string {
  return `UPSTREAM_HTTP_${status}`;
}
