/** The attributes that put an upgrade item into every archive-query index (written with the item). */
import { archiveIndexKeys } from '../../domain/archive-query';
import type { DeviceKey, UpgradeRecord } from '../../domain/upgrade-record';
import { ARCHIVE_INDEX_KINDS, ARCHIVE_INDEXES, ARCHIVE_ORDER_ATTRIBUTE } from './archive-indexes';

export function archiveIndexAttributes(device: DeviceKey, record: UpgradeRecord): Record<string, string> {
  const keys = archiveIndexKeys(device, record);
  const attributes: Record<string, string> = { [ARCHIVE_ORDER_ATTRIBUTE]: keys.order };
  for (const kind of ARCHIVE_INDEX_KINDS) attributes[ARCHIVE_INDEXES[kind].partitionKey] = keys[kind];
  return attributes;
}
