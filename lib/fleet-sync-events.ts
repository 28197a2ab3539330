/**
 * The EventBridge contract for asking the fleet sync to refresh one device now.
 * Kept free of CDK imports so runtime code (publishers, tests) can share it without pulling aws-cdk-lib.
 *
 * Publish on the default event bus:
 *   { Source: FLEET_SYNC_EVENT_SOURCE, DetailType: DEVICE_SYNC_REQUESTED_DETAIL_TYPE,
 *     Detail: JSON.stringify({ account: '0242078689-00001', deviceId: '990013907835573' }) }
 * The rule forwards `$.detail` unchanged as the sync queue message, so the sync worker sees the same
 * `{account, deviceId}` body whether a device came from discovery or from an event.
 */
export const FLEET_SYNC_EVENT_SOURCE = 'thingspace-fota-history';
export const DEVICE_SYNC_REQUESTED_DETAIL_TYPE = 'FOTA Device Sync Requested';

export interface DeviceSyncRequestedDetail {
  account: string;
  deviceId: string;
}
