import type { LogFormatter } from '@aws-lambda-powertools/logger';

let override: LogFormatter | undefined;

/**
 * Lets a local run (`npm start`, `npm run sync`) print shorter lines without Lambda's fields, which
 * mean nothing outside Lambda. Must be called before functions/commons/powertools.ts is first loaded;
 * in Lambda nobody calls it and Powertools' own formatter is used.
 */
export function useLogFormatter(formatter: LogFormatter): void {
  override = formatter;
}

export function logFormatterOverride(): LogFormatter | undefined {
  return override;
}
