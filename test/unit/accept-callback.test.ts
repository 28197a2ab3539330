import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { changeEventForWrite } from '../../adapters/events/change-event-emitting-store';
import { parseCallbackCredentials } from '../../adapters/thingspace/credentials';
import { planUpgradeWrite } from '../../domain/archive-plan';
import type { DeviceKey } from '../../domain/upgrade-record';
import { apiErrorOf } from '../../functions/commons/http-failures';
import { EventsJsonlSink } from '../../local/events-jsonl-sink';
import { acceptCallback } from '../../services/accept-callback';
import { upgradeRecord } from '../support/records';

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

describe('EventsJsonlSink', () => {
  it('appends one line per event and posts each to the webhook, retrying a 5xx', async () => {
    // Prepare: a webhook that fails its first request
    const received: unknown[] = [];
    let requests = 0;
    const webhook = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        requests += 1;
        if (requests === 1) {
          response.writeHead(503).end();
          return;
        }
        received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const dataDir = await mkdtemp(join(tmpdir(), 'fota-sink-'));
    const sink = new EventsJsonlSink({
      dataDir,
      webhookUrl: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`,
      retryBaseMs: 1,
      warn: () => undefined,
    });
    const device = { account: '0242078689-00001', deviceId: '990000473475989' };
    const event = changeEventForWrite(
      device,
      planUpgradeWrite(upgradeRecord({ deviceId: device.deviceId, id: 'w-1' }), undefined, '2026-06-01T00:00:00.000Z')!,
    )!;

    // Act
    sink.emit(event);
    await sink.close();

    // Assess
    const lines = (await readFile(sink.path, 'utf8')).split('\n').filter(Boolean);
    expect(lines.map((line) => JSON.parse(line))).toEqual([event]);
    expect(received).toEqual([event]);
    expect(requests).toBe(2);
    webhook.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('has each line in the file when emit returns, whole, even from two sinks on one file', async () => {
    // Prepare: two feeds on one DATA_DIR (npm start and npm run sync), events with the longest reason
    const dataDir = await mkdtemp(join(tmpdir(), 'fota-sink-'));
    const first = new EventsJsonlSink({ dataDir, warn: () => undefined });
    const second = new EventsJsonlSink({ dataDir, warn: () => undefined });
    const device = { account: '0242078689-00001', deviceId: '990000473475989' };
    const events = Array.from(
      { length: 40 },
      (_, index) =>
        changeEventForWrite(
          device,
          planUpgradeWrite(
            upgradeRecord({ deviceId: device.deviceId, id: `s-${index}`, reason: 'é'.repeat(1024) }),
            undefined,
            '2026-06-01T00:00:00.000Z',
          )!,
        )!,
    );

    // Act: no flush, no close, no await: what a process killed right now would leave
    for (const [index, event] of events.entries()) (index % 2 === 0 ? first : second).emit(event);
    const text = readFileSync(first.path, 'utf8');

    // Assess
    expect(
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line)),
    ).toEqual(events);
    await first.close();
    await second.close();
    await rm(dataDir, { recursive: true, force: true });
  });
});
