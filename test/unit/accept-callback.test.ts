import { describe, expect, it } from 'vitest';
import { parseCallbackCredentials } from '../../adapters/thingspace/credentials';
import type { DeviceKey } from '../../domain/upgrade-record';
import { apiErrorOf } from '../../functions/commons/http-failures';
import { acceptCallback } from '../../services/accept-callback';

const CREDENTIALS = { username: 'listener', password: 's3cret' };

function queue() {
  const enqueued: DeviceKey[] = [];
  return { enqueued, syncQueue: { enqueue: async (devices: readonly DeviceKey[]) => void enqueued.push(...devices) } };
}

/** The HTTP answer the callback route gives for what acceptCallback throws. */
function answered<T>(call: Promise<T>): Promise<T> {
  return call.catch((error: unknown) => {
    throw apiErrorOf(error) ?? error;
  });
}

describe('acceptCallback', () => {
  it('answers 404 and queues nothing when no listener credentials are configured', async () => {
    const { enqueued, syncQueue } = queue();
    const body = JSON.stringify({ ...CREDENTIALS, accountName: '0242078689-00001', deviceId: '990000473475989' });
    await expect(
      answered(acceptCallback({ body }, { credentials: async () => undefined, syncQueue })),
    ).rejects.toMatchObject({
      statusCode: 404,
      errorCode: 'NOT_FOUND',
    });
    expect(enqueued).toEqual([]);
  });

  it('refuses credentials that match only in part, and a malformed body without credentials as 401', async () => {
    const { enqueued, syncQueue } = queue();
    const dependencies = { credentials: async () => CREDENTIALS, syncQueue };
    const device = { accountName: '0242078689-00001', deviceId: '990000473475989' };
    for (const presented of [
      { username: 'listener', password: 's3cre' },
      { username: 'listene', password: 's3cret' },
      { username: 'listener' },
    ]) {
      await expect(
        answered(acceptCallback({ body: JSON.stringify({ ...presented, ...device }) }, dependencies)),
      ).rejects.toMatchObject({ statusCode: 401 });
    }
    await expect(answered(acceptCallback({ body: '{not json' }, dependencies))).rejects.toMatchObject({
      statusCode: 401,
    });
    expect(enqueued).toEqual([]);
  });
  it('decides on an Authorization header alone, whatever the body holds', async () => {
    const { enqueued, syncQueue } = queue();
    const dependencies = { credentials: async () => CREDENTIALS, syncQueue };
    const basic = (password: string) =>
      `Basic ${Buffer.from(`${CREDENTIALS.username}:${password}`).toString('base64')}`;
    const device = { accountName: '0242078689-00001', deviceId: '990000473475989' };
    // Wrong header, right body credentials: refused, the body's credentials are not a second chance.
    await expect(
      answered(
        acceptCallback(
          { body: JSON.stringify({ ...CREDENTIALS, ...device }), authorization: basic('nope') },
          dependencies,
        ),
      ),
    ).rejects.toMatchObject({ statusCode: 401 });
    await expect(
      answered(acceptCallback({ body: '{not json', authorization: basic('nope') }, dependencies)),
    ).rejects.toMatchObject({ statusCode: 401 });
    expect(enqueued).toEqual([]);
    // Right header: the body is parsed only now.
    await expect(
      answered(acceptCallback({ body: '{not json', authorization: basic(CREDENTIALS.password) }, dependencies)),
    ).rejects.toMatchObject({ statusCode: 400 });
    await expect(
      acceptCallback({ body: JSON.stringify(device), authorization: basic(CREDENTIALS.password) }, dependencies),
    ).resolves.toEqual({ accepted: 1 });
  });
});

describe('parseCallbackCredentials', () => {
  it('reads both optional secret fields, none, or refuses half a pair without echoing it', () => {
    expect(parseCallbackCredentials({ appKey: 'k', callbackUsername: 'u', callbackPassword: 'p' })).toEqual({
      username: 'u',
      password: 'p',
    });
    expect(parseCallbackCredentials({ appKey: 'k' })).toBeUndefined();
    expect(() => parseCallbackCredentials({ callbackPassword: 'hunter2' })).toThrow(/must both be non-empty strings/);
    expect(() => parseCallbackCredentials({ callbackPassword: 'hunter2' })).not.toThrow(/hunter2/);
  });
});
