/**
 * The change events the service publishes, and the single mapping from an archive write to them, behind
 * both the deployed stream consumer and the local events.jsonl sink, so the two cannot drift.
 */
import { changedFields, UPGRADE_RECORD_FIELDS, type UpgradeRecord, type UpgradeRecordField } from './upgrade-record';

export const CHANGE_EVENT_SOURCE = 'thingspace-fota-history';
export const UPGRADE_OBSERVED = 'FOTA Upgrade Observed';
export const UPGRADE_STATUS_CHANGED = 'FOTA Upgrade Status Changed';

type ChangeEventDetailType = typeof UPGRADE_OBSERVED | typeof UPGRADE_STATUS_CHANGED;

interface ChangeEventDetail {
  /** Stable for one change: a redelivery carries the same id, so consumers dedupe on it. */
  eventId: string;
  account: string;
  deviceId: string;
  /** When this version of the upgrade was first observed (the item's observedAt). */
  observedAt: string;
  upgrade: UpgradeRecord;
  /** The state the change replaced; only on "FOTA Upgrade Status Changed". */
  previous?: { status: string; reason: string; upgradeStartTime: string };
  /** The fields that differ from the previous version; empty on a first sighting. */
  changedFields: UpgradeRecordField[];
}

/** One change event, in the shape EventBridge delivers to a rule target (and `events.jsonl` holds). */
export interface ChangeEvent {
  source: typeof CHANGE_EVENT_SOURCE;
  'detail-type': ChangeEventDetailType;
  /** The observation time, so the same change always yields the same event, wherever it is produced. */
  time: string;
  detail: ChangeEventDetail;
}

/** An archive item as stored (plain attribute values: a DynamoDB stream image once unmarshalled). */
export type ItemImage = Readonly<Record<string, unknown>>;

const UPGRADE_ITEM_TYPE = 'upgrade';
const DEVICE_PARTITION = /^DEVICE#([^#]+)#([^#]+)$/;

/**
 * What one archive write means to the outside world, from the item before and after it:
 * - a new upgrade item: "FOTA Upgrade Observed";
 * - an upgrade item whose observedAt moved (a new version was archived): "FOTA Upgrade Status Changed";
 * - anything else (sync state, status-log items, login guard, discovery checkpoints, a rewrite of the
 *   same version, a deletion): no event.
 */
export function changeEventFor(
  oldImage: ItemImage | undefined,
  newImage: ItemImage | undefined,
): ChangeEvent | undefined {
  if (!newImage || newImage.type !== UPGRADE_ITEM_TYPE) return undefined;
  const observedAt = text(newImage.observedAt);
  if (!observedAt) return undefined;
  const upgrade = recordOf(newImage);
  const key = DEVICE_PARTITION.exec(text(newImage.pk));
  const account = key?.[1] ?? upgrade.accountName;
  const deviceId = key?.[2] ?? upgrade.deviceId;
  const eventId = [account, deviceId, upgrade.id, observedAt].join('/');

  if (!oldImage || oldImage.type !== UPGRADE_ITEM_TYPE) {
    return {
      source: CHANGE_EVENT_SOURCE,
      'detail-type': UPGRADE_OBSERVED,
      time: observedAt,
      detail: { eventId, account, deviceId, observedAt, upgrade, changedFields: [] },
    };
  }
  if (text(oldImage.observedAt) === observedAt) return undefined;
  const before = recordOf(oldImage);
  return {
    source: CHANGE_EVENT_SOURCE,
    'detail-type': UPGRADE_STATUS_CHANGED,
    time: observedAt,
    detail: {
      eventId,
      account,
      deviceId,
      observedAt,
      upgrade,
      previous: { status: before.status, reason: before.reason, upgradeStartTime: before.upgradeStartTime },
      changedFields: changedFields(before, upgrade),
    },
  };
}

function recordOf(image: ItemImage): UpgradeRecord {
  const record = {} as UpgradeRecord;
  for (const field of UPGRADE_RECORD_FIELDS) record[field] = text(image[field]);
  return record;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
