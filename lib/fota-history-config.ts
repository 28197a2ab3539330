/**
 * The deployment's choices, read and checked from CDK context, so a bad value stops the synth with one
 * line rather than failing at deploy.
 */
import type { Node } from 'constructs';
import { parseAccount } from '../domain/device-key';
import { DEFAULT_FULL_RESYNC_DAYS, parseFullResyncDays } from '../domain/fleet-selection';

/** A context value the stack cannot be built with; bin/app.ts prints its message as one line. */
export class FotaHistoryConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FotaHistoryConfigError';
  }
}

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
  /** (d) of the change-aware sync: a device is asked again after this many days whatever else (1-30). */
  readonly fullResyncDays: number;
  /** Re-attach this retained table (from an earlier deployment) instead of creating one. */
  readonly existingTableName?: string;
  /** The retained table's stream (change events read it); required with existingTableName. */
  readonly existingTableStreamArn?: string;
  /** The customer managed KMS key that encrypts the credentials secret: the functions get kms:Decrypt on it. */
  readonly thingSpaceSecretKmsKeyArn?: string;
  /** Reserved concurrency of the direct-invoke function, which bounds its calls toward ThingSpace. */
  readonly invokeReservedConcurrency: number;
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
  fullResyncDays: DEFAULT_FULL_RESYNC_DAYS,
  invokeReservedConcurrency: 10,
};

const MAX_INVOKE_RESERVED_CONCURRENCY = 900;

/** SQS event sources accept a maximum concurrency between 2 and 1000. */
const MIN_SYNC_CONCURRENCY = 2;
const MAX_SYNC_CONCURRENCY = 1000;
const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT', 'CRITICAL'];

export function readFotaHistoryConfig(node: Node): FotaHistoryConfig {
  try {
    return readConfig(node);
  } catch (error) {
    throw new FotaHistoryConfigError((error as Error).message);
  }
}

function readConfig(node: Node): FotaHistoryConfig {
  const context = (key: string): unknown => node.tryGetContext(key);
  const syncMaxConcurrency = readInteger(
    context('syncMaxConcurrency'),
    'syncMaxConcurrency',
    DEFAULT_CONFIG.syncMaxConcurrency,
  );
  if (syncMaxConcurrency < MIN_SYNC_CONCURRENCY || syncMaxConcurrency > MAX_SYNC_CONCURRENCY) {
    throw new Error(
      `context syncMaxConcurrency must be between ${MIN_SYNC_CONCURRENCY} and ${MAX_SYNC_CONCURRENCY}, got ${syncMaxConcurrency}`,
    );
  }
  const logLevel = readString(context('logLevel'), 'logLevel', DEFAULT_CONFIG.logLevel).toUpperCase();
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new Error(`context logLevel must be one of ${LOG_LEVELS.join(', ')}, got ${logLevel}`);
  }
  const secretArn = context('thingSpaceSecretArn');
  return {
    thingSpaceSecretArn: secretArn === undefined ? undefined : readString(secretArn, 'thingSpaceSecretArn', ''),
    thingSpaceSecretName: readString(
      context('thingSpaceSecretName'),
      'thingSpaceSecretName',
      DEFAULT_CONFIG.thingSpaceSecretName,
    ),
    thingSpaceBaseUrl: readBaseUrl(context('thingSpaceBaseUrl')),
    fleetAccounts: readAccounts(context('fleetAccounts')),
    syncSchedule: readSchedule(context('syncSchedule')),
    syncMaxConcurrency,
    apiThrottleRateLimit: readInteger(
      context('apiThrottleRateLimit'),
      'apiThrottleRateLimit',
      DEFAULT_CONFIG.apiThrottleRateLimit,
    ),
    apiThrottleBurstLimit: readInteger(
      context('apiThrottleBurstLimit'),
      'apiThrottleBurstLimit',
      DEFAULT_CONFIG.apiThrottleBurstLimit,
    ),
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
    fullResyncDays: parseFullResyncDays(context('fullResyncDays'), 'context fullResyncDays'),
    existingTableName: readOptional(
      context('existingTableName'),
      'existingTableName',
      /^[A-Za-z0-9_.-]{3,255}$/,
      'a DynamoDB table name',
    ),
    existingTableStreamArn: readExistingTableStreamArn(context('existingTableName'), context('existingTableStreamArn')),
    thingSpaceSecretKmsKeyArn: readOptional(
      context('thingSpaceSecretKmsKeyArn'),
      'thingSpaceSecretKmsKeyArn',
      /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]{1,64}$/,
      'a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)',
    ),
    invokeReservedConcurrency: readBoundedInteger(
      context('invokeReservedConcurrency'),
      'invokeReservedConcurrency',
      DEFAULT_CONFIG.invokeReservedConcurrency,
      MAX_INVOKE_RESERVED_CONCURRENCY,
    ),
  };
}

/** A re-attached table keeps its stream; change events need its ARN, which CloudFormation cannot look up. */
function readExistingTableStreamArn(tableName: unknown, value: unknown): string | undefined {
  const arn = readOptional(
    value,
    'existingTableStreamArn',
    /^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table\/[A-Za-z0-9_.-]{3,255}\/stream\/[0-9A-Za-z:.-]+$/,
    'a DynamoDB stream ARN (aws dynamodbstreams list-streams --table-name TABLE)',
  );
  if (tableName !== undefined && tableName !== null && arn === undefined) {
    throw new Error(
      "context existingTableStreamArn is required with existingTableName: change events read the table's stream (aws dynamodbstreams list-streams --table-name TABLE)",
    );
  }
  return arn;
}

function readOptional(value: unknown, key: string, pattern: RegExp, what: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = readString(value, key, '');
  if (!pattern.test(text)) throw new Error(`context ${key} must be ${what}, got ${JSON.stringify(value)}`);
  return text;
}

function readBoundedInteger(value: unknown, key: string, fallback: number, max: number): number {
  const parsed = readInteger(value, key, fallback);
  if (parsed > max) throw new Error(`context ${key} must be between 1 and ${max}, got ${parsed}`);
  return parsed;
}

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON_FIELD = /^[0-9A-Za-z*?,\-/#L]+$/;

/**
 * EventBridge accepts `rate(1 day)` / `rate(N days)` (value >= 1, singular unit exactly for 1) and
 * `cron(min hour day-of-month month day-of-week year)` with one of the two day fields `?`. Anything else
 * would synthesize and fail only at deploy, so it is refused here.
 */
function readSchedule(value: unknown): string {
  const schedule = readString(value, 'syncSchedule', DEFAULT_CONFIG.syncSchedule);
  const problem = scheduleProblem(schedule);
  if (problem) {
    throw new Error(
      `context syncSchedule ${JSON.stringify(schedule)} is not an EventBridge schedule: ${problem} (e.g. "rate(1 day)", "rate(12 hours)", "cron(0 3 * * ? *)")`,
    );
  }
  return schedule;
}

function scheduleProblem(schedule: string): string | undefined {
  const rate = RATE.exec(schedule);
  if (rate) {
    const amount = Number(rate[1]);
    const unit = rate[2] as string;
    if (amount < 1) return 'a rate must be at least 1';
    if ((amount === 1) !== !unit.endsWith('s'))
      return `use "${amount} ${amount === 1 ? unit.replace(/s$/, '') : `${unit}s`}"`;
    return undefined;
  }
  if (schedule.startsWith('rate(')) return 'a rate is "rate(<number> minute(s)|hour(s)|day(s))"';
  const cron = /^cron\((.*)\)$/.exec(schedule);
  if (!cron) return 'expected rate(...) or cron(...)';
  const fields = (cron[1] as string).trim().split(/\s+/);
  if (fields.length !== 6)
    return `a cron expression has 6 fields (minute hour day-of-month month day-of-week year), got ${fields.length}`;
  if (!fields.every((field) => CRON_FIELD.test(field))) return 'a cron field holds an unexpected character';
  if ((fields[2] === '?') === (fields[4] === '?')) return 'exactly one of day-of-month and day-of-week must be "?"';
  return undefined;
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
