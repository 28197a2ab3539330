import type { Node } from 'constructs';
import { parseAccount } from '../domain/device-key';

/** Everything an operator can choose per deployment, read from CDK context (cdk.json or `-c key=value`). */
export interface FotaHistoryConfig {
  /** Full ARN of the imported credentials secret; wins over `thingSpaceSecretName` when both are set. */
  readonly thingSpaceSecretArn?: string;
  readonly thingSpaceSecretName: string;
  readonly thingSpaceBaseUrl: string;
  /** ThingSpace accounts whose whole fleet is archived on `syncSchedule`; empty means no schedule. */
  readonly fleetAccounts: readonly string[];
  readonly syncSchedule: string;
  /** Upper bound on concurrent sync workers, which bounds the request rate toward ThingSpace. */
  readonly syncMaxConcurrency: number;
  readonly apiThrottleRateLimit: number;
  readonly apiThrottleBurstLimit: number;
  readonly logLevel: string;
  /** An SNS topic (the operator's, e.g. to email or page) that every alarm of the stack notifies. */
  readonly alarmTopicArn?: string;
  /** The EventBridge bus change events go to (ARN wins over name); the default bus when neither is set. */
  readonly eventBusArn?: string;
  readonly eventBusName?: string;
  /** Method-level throttling of the unauthenticated ThingSpace callback route. */
  readonly callbackThrottleRateLimit: number;
  readonly callbackThrottleBurstLimit: number;
}

export const DEFAULT_CONFIG: FotaHistoryConfig = {
  thingSpaceSecretName: 'thingspace-fota-history/credentials',
  thingSpaceBaseUrl: 'https://thingspace.verizon.com',
  fleetAccounts: [],
  syncSchedule: 'rate(1 day)',
  syncMaxConcurrency: 5,
  apiThrottleRateLimit: 50,
  apiThrottleBurstLimit: 100,
  logLevel: 'INFO',
  callbackThrottleRateLimit: 10,
  callbackThrottleBurstLimit: 20,
};

/** SQS event sources accept a maximum concurrency between 2 and 1000. */
const MIN_SYNC_CONCURRENCY = 2;
const MAX_SYNC_CONCURRENCY = 1000;
const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT', 'CRITICAL'];

export function readFotaHistoryConfig(node: Node): FotaHistoryConfig {
  const context = (key: string): unknown => node.tryGetContext(key);
  const syncMaxConcurrency = readInteger(context('syncMaxConcurrency'), 'syncMaxConcurrency', DEFAULT_CONFIG.syncMaxConcurrency);
  if (syncMaxConcurrency < MIN_SYNC_CONCURRENCY || syncMaxConcurrency > MAX_SYNC_CONCURRENCY) {
    throw new Error(`context syncMaxConcurrency must be between ${MIN_SYNC_CONCURRENCY} and ${MAX_SYNC_CONCURRENCY}, got ${syncMaxConcurrency}`);
  }
  const logLevel = readString(context('logLevel'), 'logLevel', DEFAULT_CONFIG.logLevel).toUpperCase();
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new Error(`context logLevel must be one of ${LOG_LEVELS.join(', ')}, got ${logLevel}`);
  }
  const secretArn = context('thingSpaceSecretArn');
  return {
    thingSpaceSecretArn: secretArn === undefined ? undefined : readString(secretArn, 'thingSpaceSecretArn', ''),
    thingSpaceSecretName: readString(context('thingSpaceSecretName'), 'thingSpaceSecretName', DEFAULT_CONFIG.thingSpaceSecretName),
    thingSpaceBaseUrl: readBaseUrl(context('thingSpaceBaseUrl')),
    fleetAccounts: readAccounts(context('fleetAccounts')),
    syncSchedule: readString(context('syncSchedule'), 'syncSchedule', DEFAULT_CONFIG.syncSchedule),
    syncMaxConcurrency,
    apiThrottleRateLimit: readInteger(context('apiThrottleRateLimit'), 'apiThrottleRateLimit', DEFAULT_CONFIG.apiThrottleRateLimit),
    apiThrottleBurstLimit: readInteger(context('apiThrottleBurstLimit'), 'apiThrottleBurstLimit', DEFAULT_CONFIG.apiThrottleBurstLimit),
    logLevel,
    alarmTopicArn: readAlarmTopicArn(context('alarmTopicArn')),
    ...readEventBus(context('eventBusArn'), context('eventBusName')),
    callbackThrottleRateLimit: readInteger(
      context('callbackThrottleRateLimit'),
      'callbackThrottleRateLimit',
      DEFAULT_CONFIG.callbackThrottleRateLimit,
    ),
    callbackThrottleBurstLimit: readInteger(
      context('callbackThrottleBurstLimit'),
      'callbackThrottleBurstLimit',
      DEFAULT_CONFIG.callbackThrottleBurstLimit,
    ),
  };
}

function readAlarmTopicArn(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const arn = readString(value, 'alarmTopicArn', '');
  if (!/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/.test(arn)) {
    throw new Error(`context alarmTopicArn must be an SNS topic ARN, got ${JSON.stringify(value)}`);
  }
  return arn;
}

function readEventBus(arn: unknown, name: unknown): { eventBusArn?: string; eventBusName?: string } {
  if (arn !== undefined && arn !== null) {
    const text = readString(arn, 'eventBusArn', '');
    if (!/^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[A-Za-z0-9._\-/]{1,256}$/.test(text)) {
      throw new Error(`context eventBusArn must be an EventBridge event bus ARN, got ${JSON.stringify(arn)}`);
    }
    return { eventBusArn: text };
  }
  if (name !== undefined && name !== null) {
    const text = readString(name, 'eventBusName', '');
    if (!/^[A-Za-z0-9._\-/]{1,256}$/.test(text)) {
      throw new Error(`context eventBusName must be an event bus name, got ${JSON.stringify(name)}`);
    }
    return { eventBusName: text };
  }
  return {};
}

function readString(value: unknown, key: string, fallback: string): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new Error(`context ${key} must be a non-empty string`);
  }
  return value.trim();
}

/** `-c key=8` arrives as the string "8"; cdk.json gives a number. Both are accepted. */
function readInteger(value: unknown, key: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const parsed = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isInteger(parsed) || parsed < 1) {
    throw new Error(`context ${key} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

function readBaseUrl(value: unknown): string {
  const text = readString(value, 'thingSpaceBaseUrl', DEFAULT_CONFIG.thingSpaceBaseUrl);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`context thingSpaceBaseUrl must be an absolute URL, got ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'https:') {
    throw new Error('context thingSpaceBaseUrl must use https: the functions send credentials to it');
  }
  return text.replace(/\/+$/, '');
}

/** Accepts a JSON array (cdk.json) or a comma-separated string (`-c fleetAccounts=a,b`). */
function readAccounts(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const items = Array.isArray(value) ? value : String(value).split(',');
  const accounts = items.map((item) => (typeof item === 'string' ? item.trim() : item)).filter((item) => item !== '');
  for (const account of accounts) {
    try {
      parseAccount(account);
    } catch {
      throw new Error(`context fleetAccounts holds an invalid ThingSpace account name: ${JSON.stringify(account)}`);
    }
  }
  return [...new Set(accounts as string[])];
}
