import { describe, expect, it } from 'vitest';
import { UPGRADE_RECORD_FIELDS } from '../../domain/upgrade-record';
import { DEVICE, RECORD, scriptedClient } from '../support/scripted-thingspace';
import { failureOf } from '../support/thingspace-client';

describe('ThingSpace client request paths', () => {
  it('percent-encodes every path segment', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient();
    thingspace.fotaReplies.push(
      { status: 200, body: [] },
      { status: 200, body: { hasMoreData: false, deviceList: [] } },
    );

    // Act
    await client.getDeviceHistory({ account: '02/42?x#y', deviceId: '9900.0' });
    await client.listDevices('0242078689-00001', '990000 473/475989');

    // Assess
    expect(thingspace.requests('fota').map((request) => request.path)).toEqual([
      '/api/fota/v1/reports/02%2F42%3Fx%23y/devices/9900.0',
      '/api/fota/v1/devices/0242078689-00001/index/990000%20473%2F475989',
    ]);
  });

  it.each(['', '.', '..'])('rejects the path segment %j without calling ThingSpace', async (deviceId) => {
    // Prepare
    const { client, thingspace } = await scriptedClient();

    // Act
    const failure = await failureOf(client.getDeviceHistory({ account: DEVICE.account, deviceId }));

    // Assess
    expect(failure.failure).toBe('rejected');
    expect(failure.details.errorCode).toBe('INVALID_PARAMETER');
    expect(thingspace.seen).toEqual([]);
  });
});

describe('ThingSpace client history validation', () => {
  it('returns exactly the nine documented fields, dropping extras and reading a null or absent upgradeStartTime as empty', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient();
    const { upgradeStartTime: _, ...notStarted } = { ...RECORD, id: 'not-started' };
    thingspace.fotaDefault = {
      status: 200,
      body: [{ ...RECORD, upgradeStartTime: null, internalNote: 'not documented' }, notStarted],
    };

    // Act
    const [record, second] = await client.getDeviceHistory(DEVICE);

    // Assess
    expect(Object.keys(record ?? {}).sort()).toEqual([...UPGRADE_RECORD_FIELDS].sort());
    expect(record).toEqual({ ...RECORD, upgradeStartTime: '' });
    expect(second).toEqual({ ...RECORD, id: 'not-started', upgradeStartTime: '' });
  });

  it.each([
    ["another device's record", { ...RECORD, deviceId: '990000473475990' }, 'other-device'],
    ["another account's record", { ...RECORD, accountName: '0242078689-00002' }, 'other-device'],
    ['a record without id', { ...RECORD, id: undefined }, 'missing-field'],
    ['a record without reason', { ...RECORD, reason: undefined }, 'missing-field'],
    ['a record with a null status', { ...RECORD, status: null }, 'missing-field'],
    ['a field of the wrong type', { ...RECORD, status: 3 }, 'missing-field'],
    ['a record that is not an object', 'f574fbb8', 'missing-field'],
    ['a record with an empty id', { ...RECORD, id: '' }, 'invalid-field'],
    ['an id of 2,000 characters', { ...RECORD, id: 'a'.repeat(2000) }, 'invalid-field'],
    ['an id with a slash', { ...RECORD, id: 'a/b' }, 'invalid-field'],
    ['a reason of 300 KB', { ...RECORD, reason: 'x'.repeat(300_000) }, 'invalid-field'],
    ['a startDate that is not YYYY-MM-DD', { ...RECORD, startDate: '05/03/2018' }, 'invalid-field'],
    ['an upgradeStartTime that is not a timestamp', { ...RECORD, upgradeStartTime: 'yesterday' }, 'invalid-field'],
    ['an unpaired surrogate from a JSON escape', { ...RECORD, reason: 'bad \uD800 text' }, 'invalid-text'],
  ])('drops %s alone, serves the others and reports it by reason', async (_, bad, reason) => {
    // Prepare
    const reports: unknown[] = [];
    const { client, thingspace, logLines } = await scriptedClient({
      onRecordsDropped: (report) => reports.push(report),
    });
    thingspace.fotaDefault = { status: 200, body: [bad, RECORD] };

    // Act
    const history = await client.getDeviceHistory(DEVICE);

    // Assess
    expect(history).toEqual([RECORD]);
    expect(thingspace.count('fota')).toBe(1);
    expect(reports).toEqual([{ operation: 'history', dropped: { [reason]: 1 } }]);
    const warnings = logLines.filter((line) => line.startsWith('warn'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`"${reason}":1`);
    // Counts only: nothing of the dropped record reaches the log.
    expect(warnings[0]).not.toMatch(/990000473475990|0242078689-00002|xxxx|aaaa|05\/03|yesterday|f574fbb8/);
  });

  it('keeps a real U+FFFD of a valid UTF-8 body', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient();
    thingspace.fotaDefault = { status: 200, body: [{ ...RECORD, reason: 'replacement \uFFFD character' }] };

    // Act
    const history = await client.getDeviceHistory(DEVICE);

    // Assess
    expect(history).toEqual([{ ...RECORD, reason: 'replacement \uFFFD character' }]);
  });

  it('counts every dropped record in one report and one warning', async () => {
    // Prepare
    const reports: unknown[] = [];
    const { client, thingspace, logLines } = await scriptedClient({
      onRecordsDropped: (report) => reports.push(report),
    });
    const foreign = { ...RECORD, deviceId: '990000473475990' };
    thingspace.fotaDefault = { status: 200, body: [foreign, foreign, { ...RECORD, id: '' }, RECORD] };

    // Act
    const history = await client.getDeviceHistory(DEVICE);

    // Assess
    expect(history).toEqual([RECORD]);
    expect(reports).toEqual([{ operation: 'history', dropped: { 'other-device': 2, 'invalid-field': 1 } }]);
    expect(logLines.filter((line) => line.startsWith('warn'))).toHaveLength(1);
  });

  it('accepts an empty history', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient();
    thingspace.fotaDefault = { status: 200, body: [] };

    // Act
    const history = await client.getDeviceHistory(DEVICE);

    // Assess
    expect(history).toEqual([]);
  });

  it.each([
    ['truncated JSON', '[{"deviceId":"990000473475989","id":"f574'],
    ['not JSON at all', '<html>maintenance</html>'],
    ['an object instead of an array', { data: [RECORD] }],
    ['null', null],
  ])('fails as malformed on %s, without retrying', async (_, body) => {
    // Prepare
    const { client, thingspace } = await scriptedClient();
    thingspace.fotaDefault = { status: 200, body };

    // Act
    const failure = await failureOf(client.getDeviceHistory(DEVICE));

    // Assess
    expect(failure.failure).toBe('malformed');
    expect(thingspace.count('fota')).toBe(1);
  });
});

describe('ThingSpace client error answers', () => {
  it('passes an application error on as rejected with its code and message', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient();
    thingspace.fotaDefault = {
      status: 400,
      body: { errorCode: 'UnifiedWebService.REQUEST_FAILED.AccountNotFound', errorMessage: 'Account not found' },
    };

    // Act
    const failure = await failureOf(client.getDeviceHistory(DEVICE));

    // Assess
    expect(failure.failure).toBe('rejected');
    expect(failure.details).toEqual({
      status: 400,
      errorCode: 'UnifiedWebService.REQUEST_FAILED.AccountNotFound',
      errorMessage: 'Account not found',
    });
  });

  it('synthesizes a short error code for an XML 404 and keeps the body out of the error', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient();
    const xml =
      '<am:fault><am:code>404</am:code><am:message>Not Found</am:message><am:description>secret-ish detail</am:description></am:fault>';
    thingspace.fotaDefault = { status: 404, body: xml, headers: { 'content-type': 'application/xml' } };

    // Act
    const failure = await failureOf(client.getDeviceHistory(DEVICE));

    // Assess
    expect(failure.failure).toBe('rejected');
    expect(failure.details.status).toBe(404);
    expect(failure.details.errorCode).toBe('UPSTREAM_HTTP_404');
    expect(`${failure.message} ${failure.details.errorMessage}`).not.toContain('secret-ish');
  });

  it('passes a 403 gateway fault on as rejected with its fault code', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient();
    thingspace.fotaDefault = { status: 403, body: { fault: { code: '900908', message: 'Resource forbidden' } } };

    // Act
    const failure = await failureOf(client.getDeviceHistory(DEVICE));

    // Assess
    expect(failure.failure).toBe('rejected');
    expect(failure.details).toMatchObject({ status: 403, errorCode: '900908' });
  });
});

describe('ThingSpace client device list', () => {
  it('returns the page as device ids, whether more data follows, and where to continue', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient();
    thingspace.fotaDefault = {
      status: 200,
      body: {
        accountName: DEVICE.account,
        hasMoreData: true,
        lastSeenDeviceId: '990000473475990',
        deviceList: [
          {
            deviceId: '990000473475989',
            mdn: '5555550101',
            model: 'X',
            make: 'Y',
            firmware: 'Z',
            upgradeTime: '05/12/2025 8:15:42',
          },
          { deviceId: '990000473475990' },
        ],
      },
    };

    // Act
    const page = await client.listDevices(DEVICE.account, '0');

    // Assess
    expect(page).toEqual({
      deviceIds: ['990000473475989', '990000473475990'],
      hasMoreData: true,
      lastSeenDeviceId: '990000473475990',
      devices: [
        { deviceId: '990000473475989', firmware: 'Z', upgradeTime: '05/12/2025 8:15:42' },
        { deviceId: '990000473475990', firmware: '', upgradeTime: '' },
      ],
    });
  });

  it.each([
    ['hasMoreData missing', { lastSeenDeviceId: 'x', deviceList: [] }],
    ['more data but nowhere to continue', { hasMoreData: true, deviceList: [{ deviceId: '1' }] }],
    ['a list that is not an array', { hasMoreData: false, lastSeenDeviceId: '', deviceList: 'none' }],
  ])('fails as malformed on %s', async (_, body) => {
    // Prepare
    const { client, thingspace } = await scriptedClient();
    thingspace.fotaDefault = { status: 200, body };

    // Act
    const failure = await failureOf(client.listDevices(DEVICE.account, '0'));

    // Assess
    expect(failure.failure).toBe('malformed');
  });

  it('drops device ids that are not IMEIs, counted, instead of failing the page', async () => {
    // Prepare
    const reports: unknown[] = [];
    const { client, thingspace } = await scriptedClient({ onRecordsDropped: (report) => reports.push(report) });
    thingspace.fotaDefault = {
      status: 200,
      body: {
        hasMoreData: false,
        lastSeenDeviceId: '',
        deviceList: [
          { mdn: '5555550101' },
          { deviceId: '../../etc' },
          { deviceId: '1'.repeat(300) },
          { deviceId: '990000473475989' },
        ],
      },
    };

    // Act
    const page = await client.listDevices(DEVICE.account, '0');

    // Assess
    expect(page.deviceIds).toEqual(['990000473475989']);
    expect(reports).toEqual([{ operation: 'device list', dropped: { 'missing-field': 1, 'invalid-field': 2 } }]);
  });

  it('keeps an over-long firmware or upgradeTime as a short digest: stable across pages, different when the value changes', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient();
    const listed = (firmware: string) => ({
      status: 200,
      body: {
        hasMoreData: false,
        lastSeenDeviceId: '',
        deviceList: [{ deviceId: '990000473475989', firmware, upgradeTime: 'u'.repeat(300_000) }],
      },
    });

    // Act
    thingspace.fotaDefault = listed('F'.repeat(300));
    const first = await client.listDevices(DEVICE.account, '0');
    const again = await client.listDevices(DEVICE.account, '0');
    thingspace.fotaDefault = listed(`${'F'.repeat(299)}G`);
    const changed = await client.listDevices(DEVICE.account, '0');

    // Assess
    const [entry] = first.devices ?? [];
    expect(entry?.firmware).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(entry?.upgradeTime).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(again.devices).toEqual(first.devices);
    expect(changed.devices?.[0]?.firmware).not.toBe(entry?.firmware);
  });
});

describe('ThingSpace client malformed answers', () => {
  it.each([
    [
      'a token answer with an empty access_token',
      'token',
      { access_token: '' },
      'ThingSpace token answer is not the documented shape at access_token: Too small: expected string to have >=1 characters',
    ],
    [
      'a token answer with an expires_in that is not a number of seconds',
      'token',
      { access_token: 'token-1', expires_in: '1h' },
      'ThingSpace token answer is not the documented shape at expires_in: Invalid input',
    ],
    [
      'a login answer with a null sessionToken',
      'login',
      { sessionToken: null },
      'ThingSpace login answer is not the documented shape at sessionToken: Invalid input: expected string, received null',
    ],
    [
      'a history answer that is an object',
      'fota',
      { data: [] },
      'ThingSpace history answer is not the documented shape: Invalid input: expected array, received object',
    ],
  ] as const)(
    'says where and how %s breaks the documented shape, without its values',
    async (_, answer, body, message) => {
      // Prepare
      const { client, thingspace } = await scriptedClient();
      const reply = { status: 200, body };
      if (answer === 'token') thingspace.tokenReplies.push(reply);
      else if (answer === 'login') thingspace.loginReplies.push(reply);
      else thingspace.fotaDefault = reply;

      // Act
      const failure = await failureOf(client.getDeviceHistory(DEVICE));

      // Assess
      expect(failure.failure).toBe('malformed');
      expect(failure.message).toBe(message);
    },
  );

  it('says which device list field is wrong and what it should be', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient();
    thingspace.fotaDefault = { status: 200, body: { hasMoreData: 'no', deviceList: [] } };

    // Act
    const failure = await failureOf(client.listDevices(DEVICE.account, '0'));

    // Assess
    expect(failure.message).toBe(
      'ThingSpace device list answer is not the documented shape at hasMoreData: Invalid input: expected boolean, received string',
    );
  });
});
