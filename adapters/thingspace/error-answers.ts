/** What a non-2xx ThingSpace body says, in the few shapes it comes in; never the raw body. */
export interface ErrorAnswer {
  errorCode?: string;
  errorMessage?: string;
}

const MAX_MESSAGE_LENGTH = 200;

function shortText(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  return value.length > MAX_MESSAGE_LENGTH ? `${value.slice(0, MAX_MESSAGE_LENGTH)}...` : value;
}

/**
 * `{errorCode, errorMessage}` (application errors), `{fault: {code, message}}` (the API gateway), or
 * `{error, error_description}` (OAuth). XML and text bodies yield nothing.
 */
export function readErrorAnswer(text: string): ErrorAnswer {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof value !== 'object' || value === null) return {};
  const body = value as Record<string, unknown>;
  if (typeof body.errorCode === 'string') {
    return { errorCode: shortText(body.errorCode), errorMessage: shortText(body.errorMessage) };
  }
  if (typeof body.fault === 'object' && body.fault !== null) {
    const fault = body.fault as Record<string, unknown>;
    return { errorCode: shortText(String(fault.code ?? '')), errorMessage: shortText(fault.message) };
  }
  if (typeof body.error === 'string') return { errorCode: shortText(body.error), errorMessage: shortText(body.error_description) };
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
