import { AsyncLocalStorage } from 'node:async_hooks';
import { Console } from 'node:console';
import { LogFormatter, type Logger, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import { useLogFormatter } from '../functions/commons/log-formatter';

/** The device a sync pass is working on, so warnings logged deep in the ThingSpace client name it. */
export const deviceContext = new AsyncLocalStorage<{ account: string; deviceId: string }>();

export type LogFormat = 'text' | 'json';

/**
 * LOG_FORMAT=text|json, or text on a terminal and JSON otherwise (a file, a pipe, a log collector).
 * Returns an error message for any other value.
 */
export function logFormatFrom(env: NodeJS.ProcessEnv, isTerminal: boolean): LogFormat | string {
  const value = env.LOG_FORMAT;
  if (value === undefined || value === '') return isTerminal ? 'text' : 'json';
  if (value === 'text' || value === 'json') return value;
  return `LOG_FORMAT must be text or json, not "${value}"`;
}

/**
 * Powertools' log lines for a local run: time, level, message and what was logged with it (plus the
 * account and device of a sync), without the Lambda fields (function name, request id, cold start,
 * X-Ray trace, sampling rate) that have no meaning outside Lambda.
 */
class LocalLogFormatter extends LogFormatter {
  formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const device = deviceContext.getStore();
    return new LogItem({
      attributes: {
        time: attributes.timestamp.toISOString(),
        level: attributes.logLevel,
        message: attributes.message,
        ...(device ? { account: device.account, deviceId: device.deviceId } : {}),
      },
    }).addAttributes(additional);
  }
}

/** Call before the handler's modules are loaded (they build the logger on load). */
export function useLocalLogFormat(): void {
  useLogFormatter(new LocalLogFormatter());
}

/**
 * Sends the Powertools logger's lines to `stream` instead of stdout/stderr, so they cannot tear a
 * progress bar drawn on the terminal. Powertools offers no public option for the destination; its
 * Console is replaced, which the sync display test checks on every Powertools upgrade.
 */
export function routeLoggerTo(logger: Logger, stream: NodeJS.WritableStream): void {
  Object.assign(logger, { console: new Console({ stdout: stream, stderr: stream }) });
}
