/** What the ThingSpace client's tests share, whichever ThingSpace they talk to. */
import { isThingSpaceError, type ThingSpaceError } from '../../domain/thingspace-error';

/** Records every log line, to check that nothing secret is ever logged. */
export function capturingLogger() {
  const lines: string[] = [];
  const log =
    (level: string) =>
    (message: string, ...extra: Record<string, unknown>[]) => {
      lines.push(`${level} ${message} ${JSON.stringify(extra)}`);
    };
  return { lines, logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') } };
}

/** 'ok', or the ThingSpaceError the promise rejects with; anything else it rejects with fails the test. */
export async function outcomeOf(promise: Promise<unknown>): Promise<'ok' | ThingSpaceError> {
  const outcome = await promise.then(
    () => 'ok' as const,
    (error: unknown) => error,
  );
  if (outcome !== 'ok' && !isThingSpaceError(outcome)) {
    throw new Error(`expected a ThingSpaceError, got ${String(outcome)}`);
  }
  return outcome;
}

/** The ThingSpaceError a promise rejects with; fails the test if it resolves or rejects with anything else. */
export async function failureOf(promise: Promise<unknown>): Promise<ThingSpaceError> {
  const outcome = await outcomeOf(promise);
  if (outcome === 'ok') throw new Error('expected a ThingSpaceError, but the call succeeded');
  return outcome;
}
