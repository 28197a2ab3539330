import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThingSpaceClient } from '../../adapters/thingspace/client';
import type { ThingSpaceApi } from '../../domain/ports';
import { DEMO_CREDENTIALS, startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';

const ACCOUNT = '0000000555-00001';
const DEVICE = '351234567890123';
const NEVER = '351234567890131';

let simulator: ThingSpaceSimulator;
let thingspace: ThingSpaceApi;

beforeAll(async () => {
  simulator = await startThingSpaceSimulator();
  thingspace = createThingSpaceClient({ baseUrl: simulator.url, credentials: async () => DEMO_CREDENTIALS });
});

afterAll(async () => {
  await simulator.close();
});

async function control(method: string, action: string, body: unknown): Promise<void> {
  const response = await fetch(`${simulator.url}/_simulator/${action}`, { method, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
}

async function listed(deviceId: string) {
  const page = await thingspace.listDevices(ACCOUNT, '0');
  return page.devices?.find((device) => device.deviceId === deviceId);
}

describe("the simulator's device list", () => {
  it('shows firmware and upgradeTime as the history implies, and follows changes made through the control routes', async () => {
    // Prepare
    const record = {
      deviceId: DEVICE,
      id: 'sim-1',
      accountName: ACCOUNT,
      firmwareFrom: 'FW-1',
      firmwareTo: 'FW-2',
      startDate: '2026-11-03',
      upgradeStartTime: '2026-11-03T07:05:09Z',
      status: 'UpgradeFailed',
      reason: 'Device did not respond',
    };
    await control('PUT', 'history', { account: ACCOUNT, deviceId: DEVICE, records: [record] });
    simulator.addDevice(ACCOUNT, NEVER, { firmware: 'FW-0' });

    // Act
    const failed = await listed(DEVICE);
    const never = await listed(NEVER);
    await control('PATCH', 'record', {
      account: ACCOUNT,
      deviceId: DEVICE,
      id: 'sim-1',
      changes: { status: 'UpgradeSuccess', upgradeStartTime: '2026-11-03T08:00:00Z' },
    });
    const succeeded = await listed(DEVICE);

    // Assess
    expect(failed).toEqual({ deviceId: DEVICE, firmware: '', upgradeTime: '11/03/2026 7:5:9' });
    expect(never).toEqual({ deviceId: NEVER, firmware: 'FW-0', upgradeTime: '01/01/1900 0:0:0' });
    expect(succeeded).toEqual({ deviceId: DEVICE, firmware: 'FW-2', upgradeTime: '11/03/2026 8:0:0' });
  });
});
