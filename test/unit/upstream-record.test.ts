import { describe, expect, it } from 'vitest';
import { RECORD_LIMITS, screenDeviceIds, screenUpgradeRecord } from '../../domain/upstream-record';

const DEVICE = { account: '0242078689-00001', deviceId: '990000473475989' };
const RECORD = {
  deviceId: DEVICE.deviceId,
  id: 'f574fbb8-b291-4cc7-bf22-4e3f27977558',
  accountName: DEVICE.account,
  firmwareFrom: 'VerizonFirmwareVersion-02',
  firmwareTo: 'VerizonFirmwareVersion-03',
  startDate: '2018-03-05',
  upgradeStartTime: '2018-03-05T19:07:21Z',
  status: 'UpgradeSuccess',
  reason: 'success',
};

function reasonFor(changes: Record<string, unknown>, options?: { invalidUtf8?: boolean }) {
  return screenUpgradeRecord({ ...RECORD, ...changes }, DEVICE, options).reason;
}

describe('the rules a ThingSpace record must meet', () => {
  it.each([
    ['a UUID id', { id: 'f574fbb8-b291-4cc7-bf22-4e3f27977558' }],
    ['a short token id', { id: 'upgrade_1.2:3' }],
    ['an id at the length bound', { id: 'a'.repeat(64) }],
    ['an empty upgradeStartTime (not started)', { upgradeStartTime: '' }],
    ['a timestamp with milliseconds and an offset', { upgradeStartTime: '2018-03-05T19:07:21.123+01:00' }],
    ['a timestamp with a space', { upgradeStartTime: '2018-03-05 19:07:21' }],
    ['empty firmware names and reason', { firmwareFrom: '', firmwareTo: '', reason: '' }],
    [
      'fields at their length bounds',
      {
        status: 's'.repeat(RECORD_LIMITS.statusLength),
        firmwareTo: 'f'.repeat(RECORD_LIMITS.firmwareLength),
        reason: 'r'.repeat(RECORD_LIMITS.reasonLength),
      },
    ],
    ['non-ASCII text', { reason: 'Gerät antwortete nicht 📵' }],
    ['a real U+FFFD in a valid body', { reason: 'odd \uFFFD' }],
  ])('keeps %s', (_, changes) => {
    expect(screenUpgradeRecord({ ...RECORD, ...changes }, DEVICE)).toEqual({ record: { ...RECORD, ...changes } });
  });

  it.each([
    ['an id over the bound', { id: 'a'.repeat(65) }, 'invalid-field'],
    ['a status over the bound', { status: 's'.repeat(RECORD_LIMITS.statusLength + 1) }, 'invalid-field'],
    ['an empty status', { status: '' }, 'invalid-field'],
    ['a firmware name over the bound', { firmwareFrom: 'f'.repeat(RECORD_LIMITS.firmwareLength + 1) }, 'invalid-field'],
    ['a reason over the bound', { reason: 'r'.repeat(RECORD_LIMITS.reasonLength + 1) }, 'invalid-field'],
    ['a startDate with a time', { startDate: '2018-03-05T00:00:00Z' }, 'invalid-field'],
    [
      'an upgradeStartTime over 40 characters',
      { upgradeStartTime: `2018-03-05T19:07:21.${'1'.repeat(25)}Z` },
      'invalid-field',
    ],
    ['a U+FFFD of a body that was not valid UTF-8', { reason: 'odd \uFFFD' }, 'invalid-text', { invalidUtf8: true }],
    ['an unpaired low surrogate', { firmwareTo: 'v\uDC00' }, 'invalid-text'],
    ['a deviceId of another device', { deviceId: '990000473475990' }, 'other-device'],
    ['a missing accountName', { accountName: undefined }, 'missing-field'],
  ])('drops %s', (_, changes, reason, options?: { invalidUtf8?: boolean }) => {
    expect(reasonFor(changes, options)).toBe(reason);
  });

  it('drops device ids that are not IMEIs', () => {
    const screened = screenDeviceIds([{ deviceId: '990000473475989' }, { deviceId: '12345' }, { deviceId: 42 }, null]);

    expect(screened).toEqual({ deviceIds: ['990000473475989'], dropped: { 'invalid-field': 1, 'missing-field': 2 } });
  });
});
