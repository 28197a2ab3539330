import { describe, expect, it } from 'vitest';
import { DEVICE, RECORD, scriptedClient } from '../support/scripted-thingspace';
import { failureOf } from '../support/thingspace-client';

describe('ThingSpace client retries', () => {
  it('retries 5xx with backoff and returns the answer that finally succeeds', async () => {
    // Prepare
    const { client, thingspace, clock } = await scriptedClient();
    thingspace.fotaReplies.push({ status: 503 }, { status: 500 });

    // Act
    const history = await client.getDeviceHistory(DEVICE);

    // Assess
    expect(history).toEqual([RECORD]);
    expect(thingspace.count('fota')).toBe(3);
    expect(clock.sleeps).toHaveLength(2);
  });

  it('gives up as unavailable after maxAttempts, with the last status', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient({ maxAttempts: 4 });
    thingspace.fotaDefault = { status: 503 };

    // Act
    const failure = await failureOf(client.getDeviceHistory(DEVICE));

    // Assess
    expect(failure.failure).toBe('unavailable');
    expect(failure.details.status).toBe(503);
    expect(thingspace.count('fota')).toBe(4);
  });

  it('spreads waits with full jitter under an exponentially growing ceiling', async () => {
    // Prepare
    const { client, thingspace, clock } = await scriptedClient({
      maxAttempts: 5,
      baseDelayMs: 100,
      maxDelayMs: 300,
      random: () => 0.999,
    });
    thingspace.fotaDefault = { status: 502 };

    // Act
    await failureOf(client.getDeviceHistory(DEVICE));

    // Assess
    expect(clock.sleeps).toEqual([99, 199, 299, 299]);
  });

  it('waits as long as Retry-After says on 429 when the deadline allows it', async () => {
    // Prepare
    const { client, thingspace, clock } = await scriptedClient();
    thingspace.fotaReplies.push({ status: 429, headers: { 'retry-after': '2' } });

    // Act
    const history = await client.getDeviceHistory(DEVICE, { deadline: clock.now() + 10_000 });

    // Assess
    expect(history).toEqual([RECORD]);
    expect(clock.sleeps).toEqual([2000]);
  });

  it('gives up at once when Retry-After reaches past the deadline', async () => {
    // Prepare
    const { client, thingspace, clock } = await scriptedClient();
    thingspace.fotaReplies.push({ status: 429, headers: { 'retry-after': '30' } });

    // Act
    const failure = await failureOf(client.getDeviceHistory(DEVICE, { deadline: clock.now() + 5000 }));

    // Assess
    expect(failure.failure).toBe('unavailable');
    expect(failure.details.status).toBe(429);
    expect(clock.sleeps).toEqual([]);
    expect(thingspace.count('fota')).toBe(1);
  });

  it('never sleeps past the deadline', async () => {
    // Prepare
    const { client, thingspace, clock } = await scriptedClient({
      maxAttempts: 10,
      baseDelayMs: 400,
      maxDelayMs: 5000,
      random: () => 0.9,
    });
    thingspace.fotaDefault = { status: 500 };
    const deadline = clock.now() + 1000;

    // Act
    const failure = await failureOf(client.getDeviceHistory(DEVICE, { deadline }));

    // Assess
    expect(failure.failure).toBe('unavailable');
    expect(clock.now()).toBeLessThan(deadline);
    expect(thingspace.count('fota')).toBeLessThan(10);
  });

  it('does not call ThingSpace when the deadline has already passed', async () => {
    // Prepare
    const { client, thingspace, clock } = await scriptedClient();

    // Act
    const failure = await failureOf(client.getDeviceHistory(DEVICE, { deadline: clock.now() - 1 }));

    // Assess
    expect(failure.failure).toBe('timeout');
    expect(thingspace.seen).toEqual([]);
  });

  it('reports timeout when every attempt hangs past its timeout', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient({ timeoutMs: 20, maxAttempts: 2 });
    thingspace.fotaDefault = { hang: true };

    // Act
    const failure = await failureOf(client.getDeviceHistory(DEVICE));

    // Assess
    expect(failure.failure).toBe('timeout');
    expect(thingspace.count('fota')).toBe(2);
  });

  it('retries a network error', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient();
    thingspace.fotaReplies.push({ networkError: true });

    // Act
    const history = await client.getDeviceHistory(DEVICE);

    // Assess
    expect(history).toEqual([RECORD]);
    expect(thingspace.count('fota')).toBe(2);
  });

  it('retries a token endpoint outage within the same attempts', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient({ maxAttempts: 3 });
    thingspace.tokenReplies.push({ status: 503 }, { status: 503 }, { status: 503 });

    // Act
    const failure = await failureOf(client.getDeviceHistory(DEVICE));

    // Assess
    expect(failure.failure).toBe('unavailable');
    expect(thingspace.count('token')).toBe(3);
    expect(thingspace.count('fota')).toBe(0);
  });

  it('does not retry an application error: it is passed on as rejected', async () => {
    // Prepare
    const { client, thingspace } = await scriptedClient();
    thingspace.fotaReplies.push({
      status: 400,
      body: { errorCode: 'INVALID_PARAMETER', errorMessage: 'Invalid device id format' },
    });

    // Act
    const failure = await failureOf(client.getDeviceHistory(DEVICE));

    // Assess
    expect(failure.failure).toBe('rejected');
    expect(failure.details).toEqual({
      status: 400,
      errorCode: 'INVALID_PARAMETER',
      errorMessage: 'Invalid device id format',
    });
    expect(thingspace.count('fota')).toBe(1);
  });
});
