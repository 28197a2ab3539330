/** The accounts, devices and upgrade histories the simulator serves. */
import type { UpgradeRecord } from '../../domain/upgrade-record';
import { NEVER_UPGRADED_TIME, withListedFields } from './device-list';
import { SyntheticFleet, type SyntheticFleetOptions } from './synthetic-fleet';
import type { SimulatedDevice } from './types';

interface ExplicitDevice {
  info: SimulatedDevice;
  history: UpgradeRecord[];
}

interface SimulatedAccount {
  devices: Map<string, ExplicitDevice>;
  synthetic?: SyntheticFleet;
  /** Records that started before this day are no longer in the live answer (ThingSpace's six months). */
  liveSince?: string;
}

export interface DeviceListAnswer {
  accountName: string;
  hasMoreData: boolean;
  lastSeenDeviceId: string;
  deviceList: SimulatedDevice[];
}

function defaultDevice(deviceId: string): SimulatedDevice {
  return { deviceId, mdn: '', model: 'SIM-MODEL-1', make: 'SIMULATED', firmware: '', upgradeTime: NEVER_UPGRADED_TIME };
}

export class Fleet {
  private readonly accounts = new Map<string, SimulatedAccount>();

  addAccount(account: string): void {
    if (!this.accounts.has(account)) this.accounts.set(account, { devices: new Map() });
  }

  private account(account: string): SimulatedAccount {
    this.addAccount(account);
    return this.accounts.get(account) as SimulatedAccount;
  }

  /** Replaces the device's history (and registers the account and device when new). */
  setHistory(
    account: string,
    deviceId: string,
    records: readonly UpgradeRecord[],
    info?: Partial<SimulatedDevice>,
  ): void {
    const devices = this.account(account).devices;
    const existing = devices.get(deviceId)?.info ?? this.syntheticInfo(account, deviceId) ?? defaultDevice(deviceId);
    devices.set(deviceId, {
      info: { ...existing, ...info, deviceId },
      history: records.map((record) => ({ ...record })),
    });
  }

  addDevice(account: string, deviceId: string, info?: Partial<SimulatedDevice>): void {
    this.setHistory(account, deviceId, this.history(account, deviceId, { includeOld: true }) ?? [], info);
  }

  addSyntheticFleet(account: string, options: SyntheticFleetOptions): SyntheticFleet {
    const fleet = new SyntheticFleet(account, options);
    this.account(account).synthetic = fleet;
    return fleet;
  }

  setLiveSince(account: string, day: string | undefined): void {
    this.account(account).liveSince = day;
  }

  /** The device's live history; undefined for an unknown account, [] for an unknown device. */
  history(account: string, deviceId: string, options: { includeOld?: boolean } = {}): UpgradeRecord[] | undefined {
    const data = this.accounts.get(account);
    if (!data) return undefined;
    const explicit = data.devices.get(deviceId)?.history;
    const syntheticIndex = data.synthetic?.indexOf(deviceId) ?? -1;
    const records = explicit ?? (syntheticIndex >= 0 ? (data.synthetic as SyntheticFleet).history(syntheticIndex) : []);
    const liveSince = data.liveSince;
    const visible =
      options.includeOld || !liveSince ? records : records.filter((record) => record.startDate >= liveSince);
    return visible.map((record) => ({ ...record }));
  }

  /** Changes one upgrade in place, as ThingSpace does when a queued OMA-DM upgrade finally reports. */
  updateRecord(account: string, deviceId: string, id: string, changes: Partial<UpgradeRecord>): boolean {
    const records = this.history(account, deviceId, { includeOld: true }) ?? [];
    const target = records.find((record) => record.id === id);
    if (!target) return false;
    Object.assign(target, changes, { id });
    this.setHistory(account, deviceId, records);
    return true;
  }

  removeRecord(account: string, deviceId: string, id: string): boolean {
    const records = this.history(account, deviceId, { includeOld: true }) ?? [];
    const kept = records.filter((record) => record.id !== id);
    if (kept.length === records.length) return false;
    this.setHistory(account, deviceId, kept);
    return true;
  }

  /** One page of devices sorted by id, starting after `startIndex` ('0' = from the first). */
  listPage(account: string, startIndex: string, pageSize: number): DeviceListAnswer | undefined {
    const data = this.accounts.get(account);
    if (!data) return undefined;
    const after = startIndex === '0' ? '' : startIndex;
    const explicitIds = [...data.devices.keys()].filter((id) => id > after).sort();
    const synthetic = data.synthetic;
    let syntheticIndex = synthetic ? synthetic.firstIndexAfter(after) : 0;
    const syntheticSize = synthetic?.size ?? 0;
    let explicitPosition = 0;
    const page: SimulatedDevice[] = [];
    const remaining = () => explicitPosition < explicitIds.length || syntheticIndex < syntheticSize;
    while (page.length < pageSize && remaining()) {
      const nextExplicit = explicitIds[explicitPosition];
      const nextSynthetic =
        synthetic && syntheticIndex < syntheticSize ? synthetic.deviceIdAt(syntheticIndex) : undefined;
      if (nextExplicit !== undefined && (nextSynthetic === undefined || nextExplicit <= nextSynthetic)) {
        const explicit = data.devices.get(nextExplicit) as ExplicitDevice;
        page.push(withListedFields(explicit.info, explicit.history));
        explicitPosition += 1;
        if (nextExplicit === nextSynthetic) syntheticIndex += 1;
      } else {
        page.push((synthetic as SyntheticFleet).device(syntheticIndex));
        syntheticIndex += 1;
      }
    }
    return {
      accountName: account,
      hasMoreData: remaining(),
      lastSeenDeviceId: page.at(-1)?.deviceId ?? '',
      deviceList: page,
    };
  }

  private syntheticInfo(account: string, deviceId: string): SimulatedDevice | undefined {
    const synthetic = this.accounts.get(account)?.synthetic;
    const index = synthetic?.indexOf(deviceId) ?? -1;
    return synthetic && index >= 0 ? synthetic.deviceInfo(index) : undefined;
  }
}
