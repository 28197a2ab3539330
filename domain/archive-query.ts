/**
 * The archive query plan: validating the archive routes' query strings, choosing the index a query reads,
 * and the archive's newest-first order and index keys.
 */
import { createHash } from 'node:crypto';
import { parseDeviceId } from './device-key';
import { invalidParameter } from './failure';
import type { DeviceKey, UpgradeRecord } from './upgrade-record';

/**
 * The filters of `GET /archive/{account}/upgrades`, all optional and combined with AND (exact match);
 * `from` / `to` are inclusive bounds on startDate (YYYY-MM-DD).
 */
export interface ArchiveFilters {
  upgradeId?: string;
  firmwareTo?: string;
  firmwareFrom?: string;
  status?: string;
  deviceId?: string;
  from?: string;
  to?: string;
}

export interface ArchiveQuery {
  account: string;
  filters: ArchiveFilters;
  limit: number;
  nextToken?: string;
}

const DEFAULT_PAGE_LIMIT = 100;
const MAX_PAGE_LIMIT = 1000;
const MAX_FILTER_LENGTH = 512;
const MAX_TOKEN_LENGTH = 4096;

const EXACT_FILTERS = ['upgradeId', 'firmwareTo', 'firmwareFrom', 'status', 'deviceId'] as const;
type ExactFilter = (typeof EXACT_FILTERS)[number];
const QUERY_PARAMETERS = new Set<string>([...EXACT_FILTERS, 'from', 'to', 'limit', 'nextToken']);
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Validates the query string of the upgrades route. Any parameter it does not know, or given twice,
 * is refused: a misspelt filter silently ignored would answer a different question than was asked.
 */
export function parseArchiveQuery(
  account: string,
  single: Record<string, string | undefined> | null | undefined,
  multi: Record<string, string[] | undefined> | null | undefined,
): ArchiveQuery {
  const params = singleValued(single, multi, QUERY_PARAMETERS);
  const filters: ArchiveFilters = {};
  for (const name of EXACT_FILTERS) {
    const value = params[name];
    if (value === undefined) continue;
    if (value.length === 0 || value.length > MAX_FILTER_LENGTH) {
      throw invalidParameter(`${name} must be 1 to ${MAX_FILTER_LENGTH} characters`);
    }
    filters[name] = name === 'deviceId' ? parseDeviceId(value) : value;
  }
  for (const name of ['from', 'to'] as const) {
    const value = params[name];
    if (value === undefined) continue;
    if (!isCalendarDate(value)) throw invalidParameter(`${name} must be a date YYYY-MM-DD`);
    filters[name] = value;
  }
  if (filters.from && filters.to && filters.from > filters.to) {
    throw invalidParameter('from must not be after to');
  }
  let limit = DEFAULT_PAGE_LIMIT;
  if (params.limit !== undefined) {
    if (!/^\d{1,4}$/.test(params.limit) || Number(params.limit) < 1 || Number(params.limit) > MAX_PAGE_LIMIT) {
      throw invalidParameter(`limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}`);
    }
    limit = Number(params.limit);
  }
  const query: ArchiveQuery = { account, filters, limit };
  if (params.nextToken !== undefined) {
    if (params.nextToken.length === 0 || params.nextToken.length > MAX_TOKEN_LENGTH) {
      throw invalidParameter('nextToken is not a token this service issued');
    }
    query.nextToken = params.nextToken;
  }
  return query;
}

/** The device route takes no query parameters; any given is refused rather than ignored. */
export function refuseQueryParameters(
  single: Record<string, string | undefined> | null | undefined,
  multi: Record<string, string[] | undefined> | null | undefined,
): void {
  singleValued(single, multi, new Set());
}

function singleValued(
  single: Record<string, string | undefined> | null | undefined,
  multi: Record<string, string[] | undefined> | null | undefined,
  allowed: ReadonlySet<string>,
): Record<string, string | undefined> {
  const params: Record<string, string | undefined> = {};
  const names = new Set([...Object.keys(single ?? {}), ...Object.keys(multi ?? {})]);
  for (const name of names) {
    if (!allowed.has(name)) {
      throw invalidParameter(
        allowed.size === 0
          ? `Unknown query parameter ${JSON.stringify(name.slice(0, 64))}: this route takes none`
          : `Unknown query parameter ${JSON.stringify(name.slice(0, 64))}; allowed: ${[...allowed].join(', ')}`,
      );
    }
    const values = multi?.[name] ?? (single?.[name] === undefined ? [] : [single[name] as string]);
    if (values.length > 1) throw invalidParameter(`${name} may be given once`);
    params[name] = values[0] ?? single?.[name];
  }
  return params;
}

function isCalendarDate(value: string): boolean {
  if (!DATE_PATTERN.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

/**
 * Where a query reads: the device's own partition when deviceId is given, otherwise one of the
 * account-wide indexes, each keyed by (account, value, shard) and sorted by `orderKey`.
 */
export type IndexKind = 'device' | 'upgradeId' | 'firmwareTo' | 'firmwareFrom' | 'status' | 'date';

export interface QueryPlan {
  index: IndexKind;
  /** The value of the filter the index is keyed on; absent for 'device' and 'date'. */
  keyValue?: string;
  /** Inclusive bounds of the sort-key range (order keys) that from/to allow. */
  lower: string;
  upper: string;
  /** Exact filters left to apply within the key range. */
  residual: Partial<Record<ExactFilter, string>>;
}

/**
 * Most selective first: a device holds about ten upgrades; a campaign (upgradeId) a slice of the fleet;
 * a firmware version usually one or a few campaigns; a status value can hold most of the account.
 * from/to bound the sort key on every index, so a date range is always part of the key condition.
 */
const SELECTIVITY: ReadonlyArray<Exclude<IndexKind, 'date'>> = [
  'device',
  'upgradeId',
  'firmwareTo',
  'firmwareFrom',
  'status',
];

/** Greater than every order key (startDate is ASCII), so an open upper bound includes every item. */
const ORDER_KEY_MAX = '\uffff';
/** Less than every order key. */
const ORDER_KEY_MIN = ' ';

export function planArchiveQuery(filters: ArchiveFilters): QueryPlan {
  const lower = filters.from ?? ORDER_KEY_MIN;
  // '$' sorts right after '#', so every key of the day `to` is at or below it.
  const upper = filters.to ? `${filters.to}$` : ORDER_KEY_MAX;
  const residual: Partial<Record<ExactFilter, string>> = {};
  for (const name of EXACT_FILTERS) if (filters[name] !== undefined) residual[name] = filters[name];
  for (const kind of SELECTIVITY) {
    const filter = kind === 'device' ? 'deviceId' : kind;
    const value = filters[filter];
    if (value === undefined) continue;
    delete residual[filter];
    return { index: kind, keyValue: value, lower, upper, residual };
  }
  return { index: 'date', lower, upper, residual };
}

/**
 * The archive's total order, newest first: startDate, then device, then upgrade id. Built only from
 * what never changes for an upgrade once ThingSpace scheduled it, so an item never moves in this
 * order while a client pages (upgradeStartTime, which goes from '' to a time when an upgrade starts,
 * is left out on purpose: a moving key could show a record twice or never).
 */
export function orderKey(record: Pick<UpgradeRecord, 'startDate' | 'deviceId' | 'id'>): string {
  return `${record.startDate}#${record.deviceId}#${record.id}`;
}

/** Index partitions per value, so that no value of a million-device account lands on one hot partition. */
export const INDEX_SHARDS = 8;

function shardOf(deviceId: string): number {
  return createHash('sha256').update(deviceId).digest().readUInt32BE(0) % INDEX_SHARDS;
}

/** The partition key of an account-wide index for one value (or the whole account, for 'date') and one shard. */
export function indexPartitionKey(account: string, value: string | undefined, shard: number): string {
  return value === undefined ? `${account}#${shard}` : `${account}#${value}#${shard}`;
}

/** The index keys of one archived upgrade; the account is the partition's, never the record's own field. */
export function archiveIndexKeys(
  device: DeviceKey,
  record: UpgradeRecord,
): Record<Exclude<IndexKind, 'device'>, string> & { order: string } {
  const shard = shardOf(device.deviceId);
  return {
    upgradeId: indexPartitionKey(device.account, record.id, shard),
    firmwareTo: indexPartitionKey(device.account, record.firmwareTo, shard),
    firmwareFrom: indexPartitionKey(device.account, record.firmwareFrom, shard),
    status: indexPartitionKey(device.account, record.status, shard),
    date: indexPartitionKey(device.account, undefined, shard),
    order: orderKey({ ...record, deviceId: device.deviceId }),
  };
}

export function matchesResidual(record: UpgradeRecord, residual: QueryPlan['residual']): boolean {
  return (Object.keys(residual) as ExactFilter[]).every((name) =>
    name === 'upgradeId' ? record.id === residual[name] : record[name] === residual[name],
  );
}
