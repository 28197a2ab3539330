import { describe, expect, it } from 'vitest';
import { parseDeviceKey } from '../../domain/device-key';
import { FailureError } from '../../domain/failure';
import { apiErrorOf } from '../../functions/commons/http-failures';

describe('parseDeviceKey', () => {
  it.each([
    ['0242078689-00001', '990000473475989'],
    ['0000000001', '99000047347598'],
    ['0402196254-1', '9900004734759890'],
  ])('accepts account %s and device %s, keeping leading zeros', (account, deviceId) => {
    expect(parseDeviceKey({ account, deviceId })).toEqual({ account, deviceId });
  });

  it.each([
    [{ account: 242078689, deviceId: '990000473475989' }, /account/],
    [{ account: '0242078689-', deviceId: '990000473475989' }, /account/],
    [{ account: '-00001', deviceId: '990000473475989' }, /account/],
    [{ account: '0242078689-00001-2', deviceId: '990000473475989' }, /account/],
    [{ account: '0242078689 00001', deviceId: '990000473475989' }, /account/],
    [{ account: '0242078689-00001', deviceId: 990000473475989 }, /device id/],
    [{ account: '0242078689-00001', deviceId: '9900004734759' }, /device id/],
    [{ account: '0242078689-00001', deviceId: '99000047347598901' }, /device id/],
    [{ account: '0242078689-00001', deviceId: ' 990000473475989' }, /device id/],
    [{ account: '0242078689-00001' }, /device id/],
    [null, /account/],
  ])('refuses %j with INVALID_PARAMETER', (input, message) => {
    let thrown: unknown;
    try {
      parseDeviceKey(input as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FailureError);
    expect(apiErrorOf(thrown)?.statusCode).toBe(400);
    expect(apiErrorOf(thrown)?.body).toEqual({
      errorCode: 'INVALID_PARAMETER',
      errorMessage: expect.stringMatching(message),
    });
  });
});
