/**
 * The table's global secondary indexes for the archive queries (GET /archive/{account}/upgrades), one
 * per filter, all sparse on upgrade items only. Each is keyed by `<account>#<value>#<shard>` (the
 * date index by `<account>#<shard>`) and sorted by the order key `<startDate>#<deviceId>#<id>`, so a
 * filter is a key condition, from/to a range on the sort key, and newest first a descending Query.
 * CDK (lib/history-table.ts) and the local store (table-schema.ts) create exactly these.
 */
import type { IndexKind } from '../../domain/archive-query';
import { UPGRADE_RECORD_FIELDS } from '../../domain/upgrade-record';

export const ARCHIVE_ORDER_ATTRIBUTE = 'gsiOrder';

export type AccountIndexKind = Exclude<IndexKind, 'device'>;

export const ARCHIVE_INDEXES: Readonly<Record<AccountIndexKind, { indexName: string; partitionKey: string }>> = {
  upgradeId: { indexName: 'byUpgradeId', partitionKey: 'gsiUpgradeId' },
  firmwareTo: { indexName: 'byFirmwareTo', partitionKey: 'gsiFirmwareTo' },
  firmwareFrom: { indexName: 'byFirmwareFrom', partitionKey: 'gsiFirmwareFrom' },
  status: { indexName: 'byStatus', partitionKey: 'gsiStatus' },
  date: { indexName: 'byDate', partitionKey: 'gsiDate' },
};

export const ARCHIVE_INDEX_KINDS = Object.keys(ARCHIVE_INDEXES) as AccountIndexKind[];

/** Only the nine record fields are copied into the indexes: the status log stays on the base item. */
export const ARCHIVE_INDEX_PROJECTED_FIELDS: readonly string[] = UPGRADE_RECORD_FIELDS;
