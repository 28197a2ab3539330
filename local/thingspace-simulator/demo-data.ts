/** The demo account and devices the simulator is seeded with (npm start, npm run simulator). */
import type { ThingSpaceSimulator } from './simulator';

export const DEMO_ACCOUNT = '0242078689-00001';
/** Three upgrades, the newest of which reads UpgradeFailed (it may later turn into a success). */
export const DEMO_DEVICE_WITH_FAILURE = '990000473475989';
/** The two upgrades of ThingSpace's own documentation example. */
export const DEMO_DEVICE_FROM_DOCS = '900000000000001';
export const DEMO_DEVICE_WITHOUT_HISTORY = '990000862471854';

export function seedDemoData(simulator: ThingSpaceSimulator): void {
  simulator.addAccount(DEMO_ACCOUNT);
  simulator.setHistory(
    DEMO_ACCOUNT,
    DEMO_DEVICE_WITH_FAILURE,
    [
      {
        deviceId: DEMO_DEVICE_WITH_FAILURE,
        id: '0b1a6f5e-3c51-4e8e-9d7a-1f2c3d4e5f60',
        accountName: DEMO_ACCOUNT,
        firmwareFrom: 'VerizonFirmwareVersion-03',
        firmwareTo: 'VerizonFirmwareVersion-04',
        startDate: '2025-05-12',
        upgradeStartTime: '2025-05-12T08:15:42Z',
        status: 'UpgradeFailed',
        reason: 'Device did not respond',
      },
      {
        deviceId: DEMO_DEVICE_WITH_FAILURE,
        id: '6d7e8f90-1a2b-4c3d-8e4f-5a6b7c8d9e0f',
        accountName: DEMO_ACCOUNT,
        firmwareFrom: 'VerizonFirmwareVersion-02',
        firmwareTo: 'VerizonFirmwareVersion-03',
        startDate: '2025-03-03',
        upgradeStartTime: '2025-03-03T21:40:05Z',
        status: 'UpgradeSuccess',
        reason: 'success',
      },
      {
        deviceId: DEMO_DEVICE_WITH_FAILURE,
        id: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
        accountName: DEMO_ACCOUNT,
        firmwareFrom: 'VerizonFirmwareVersion-01',
        firmwareTo: 'VerizonFirmwareVersion-02',
        startDate: '2025-01-20',
        upgradeStartTime: '2025-01-20T10:02:11Z',
        status: 'UpgradeSuccess',
        reason: 'success',
      },
    ],
    { mdn: '5555550101', model: 'MODEL-X1', make: 'ACME', firmware: 'VerizonFirmwareVersion-03' },
  );
  simulator.setHistory(
    DEMO_ACCOUNT,
    DEMO_DEVICE_FROM_DOCS,
    [
      {
        deviceId: DEMO_DEVICE_FROM_DOCS,
        id: 'f574fbb8-b291-4cc7-bf22-4e3f27977558',
        accountName: DEMO_ACCOUNT,
        firmwareFrom: 'VerizonFirmwareVersion-02',
        firmwareTo: 'VerizonFirmwareVersion-03',
        startDate: '2018-03-05',
        upgradeStartTime: '2018-03-05T19:07:21Z',
        status: 'UpgradeSuccess',
        reason: 'success',
      },
      {
        deviceId: DEMO_DEVICE_FROM_DOCS,
        id: '5edade25-c06c-4b13-ba2a-fbb9ada93579',
        accountName: DEMO_ACCOUNT,
        firmwareFrom: 'VerizonFirmwareVersion-01',
        firmwareTo: 'VerizonFirmwareVersion-02',
        startDate: '2018-02-20',
        upgradeStartTime: '2018-02-20T00:03:19Z',
        status: 'UpgradeSuccess',
        reason: 'success',
      },
    ],
    { mdn: '5555550102', model: 'MODEL-X1', make: 'ACME', firmware: 'VerizonFirmwareVersion-03' },
  );
  simulator.addDevice(DEMO_ACCOUNT, DEMO_DEVICE_WITHOUT_HISTORY, {
    mdn: '5555550103',
    model: 'MODEL-Y2',
    make: 'ACME',
    firmware: 'VerizonFirmwareVersion-01',
  });
}
