/**
 * Logging for a run outside Lambda: shorter Powertools lines, the device of a sync on each line, and a
 * logger that leaves a progress bar alone.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Console } from 'node:console';
import { LogFormatter, type Logger, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import type { LogFormat } from '../functions/commons/configuration';
import { configurePowertools } from '../functions/commons/powertools';

/** The device a sync pass is working on, so warnings logged deep in the ThingSpace client name it. */
export const deviceContext = new AsyncLocalStorage<{ account: string; deviceId: string }>();

/** LOG_FORMAT, or text on a terminal and JSON otherwise (a file, a pipe, a log collector). */
export function logFormatFor(configured: LogFormat | undefined, isTerminal: boolean): LogFormat {
  return configured ?? (isTerminal ? 'text' : 'json');
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

/**
 * Powertools for a local run: shorter log lines at `logLevel` (POWERTOOLS_LOG_LEVEL, WARN by default),
 * no metrics printed, no tracing. Call before building handlers or their dependencies.
 */
export function useLocalPowertools(logLevel: string): void {
  configurePowertools({ logLevel, logFormatter: new LocalLogFormatter() });
}

/**
 * Sends the Powertools logger's lines to `stream` instead of stdout/stderr, so they cannot tear a
 * progress bar drawn on the terminal. Powertools offers no public option for the destination; its
 * Console is replaced, which the sync display test checks on every Powertools upgrade.
 */
export function routeLoggerTo(logger: Logger, stream: NodeJS.WritableStream): void {
  Object.assign(logger, { console: new Console({ stdout: stream, stderr: stream }) });
}

/**
 * Lambda runs Node 22+, so a developer machine on Node 20 need not be told by the AWS SDK on every
 * start. The SDK reads its switch (AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED) only from the
 * environment, which nothing here writes; this drops that one warning and passes every other on.
 */
export function hideSdkNodeVersionWarning(): void {
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (String(warning).startsWith('NodeVersionSupportWarning')) return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}
