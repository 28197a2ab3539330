import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { changeEventForWrite } from '../../adapters/events/change-event-emitting-store';
import { planUpgradeWrite } from '../../domain/archive-plan';
import { EventsJsonlSink } from '../../local/events-jsonl-sink';
import { upgradeRecord } from '../support/records';

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
