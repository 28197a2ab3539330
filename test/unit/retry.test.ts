import { describe, expect, it } from 'vitest';
import { backoff, retryUntil } from '../../adapters/retry';
import { retryDelaySeconds } from '../../adapters/sqs/retry-backoff';

/** A clock that only moves when the loop sleeps. */
function fakeClock(start = 1_000_000) {
  let now = start;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    sleeps,
  };
}

describe('backoff', () => {
  const policy = { baseMs: 100, capMs: 1_000 };

  it('draws full jitter from 0 up to a ceiling that doubles from baseMs and stops at capMs', () => {
    const ceilings = [1, 2, 3, 4, 5, 6].map((failures) => backoff(failures, policy, () => 0.999));
    const floors = [1, 2, 3, 4, 5, 6].map((failures) => backoff(failures, policy, () => 0));

    expect(ceilings).toEqual([99, 199, 399, 799, 999, 999]);
    expect(floors).toEqual([0, 0, 0, 0, 0, 0]);
    expect(backoff(3, policy, () => 0.5)).toBe(200);
  });

  it('draws equal jitter from the upper half of the ceiling only', () => {
    const equal = { ...policy, jitter: 'equal' as const };

    expect(backoff(3, equal, () => 0)).toBe(200);
    expect(backoff(3, equal, () => 0.5)).toBe(300);
    expect(backoff(3, equal, () => 0.999)).toBe(399);
    expect(backoff(9, equal, () => 0)).toBe(500);
  });

  it('waits the ceiling itself without jitter, and never asks the random source', () => {
    const random = () => {
      throw new Error('no jitter was asked for');
    };

    expect([1, 2, 3, 4, 5].map((failures) => backoff(failures, { ...policy, jitter: 'none' }, random))).toEqual([
      100, 200, 400, 800, 1_000,
    ]);
  });

  it('stays at capMs however many failures came before', () => {
    expect(backoff(10_000, { ...policy, jitter: 'none' })).toBe(1_000);
  });
});

describe('retryUntil', () => {
  it('tries again after each wait until an attempt reports done', async () => {
    // Prepare
    const clock = fakeClock();
    const seen: number[] = [];

    // Act
    const done = await retryUntil(
      { backoff: { baseMs: 10, capMs: 100, jitter: 'none' }, now: clock.now, sleep: clock.sleep },
      async (attempt) => {
        seen.push(attempt);
        return attempt === 4;
      },
    );

    // Assess
    expect(done).toBe(true);
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(clock.sleeps).toEqual([10, 20, 40]);
  });

  it('gives up after maxAttempts without a last wait', async () => {
    // Prepare
    const clock = fakeClock();
    let attempts = 0;

    // Act
    const done = await retryUntil(
      { backoff: { baseMs: 10, capMs: 100 }, maxAttempts: 3, random: () => 0.5, sleep: clock.sleep },
      async () => {
        attempts += 1;
        return false;
      },
    );

    // Assess
    expect(done).toBe(false);
    expect(attempts).toBe(3);
    expect(clock.sleeps).toEqual([5, 10]);
  });

  it('never starts a wait that would end at or past the deadline', async () => {
    // Prepare
    const clock = fakeClock();
    const deadline = clock.now() + 100;

    // Act
    const done = await retryUntil(
      { backoff: { baseMs: 20, capMs: 1_000, jitter: 'none' }, deadline, now: clock.now, sleep: clock.sleep },
      async () => false,
    );

    // Assess: 20 + 40 = 60 ms slept; the next 80 ms would end at 140, past the deadline.
    expect(done).toBe(false);
    expect(clock.sleeps).toEqual([20, 40]);
    expect(clock.now()).toBeLessThan(deadline);
  });

  it('ends at once with the error of an attempt that throws', async () => {
    // Prepare
    const clock = fakeClock();
    const refused = new Error('refused for good');

    // Act
    const attempt = retryUntil({ backoff: { baseMs: 10, capMs: 100 }, sleep: clock.sleep }, async () => {
      throw refused;
    });

    // Assess
    await expect(attempt).rejects.toBe(refused);
    expect(clock.sleeps).toEqual([]);
  });
});

describe('retryDelaySeconds (a failed sync message comes back later)', () => {
  it('waits the upper half of a ceiling that doubles from the base per receive, up to the maximum', () => {
    // Third receive: 30 s doubled twice is a 120 s ceiling.
    expect(retryDelaySeconds(3, 30, 900, () => 0)).toBe(60);
    expect(retryDelaySeconds(3, 30, 900, () => 0.5)).toBe(90);
    expect(retryDelaySeconds(3, 30, 900, () => 0.999)).toBe(120);
    expect(retryDelaySeconds(20, 30, 900, () => 0)).toBe(450);
    expect(retryDelaySeconds(20, 30, 900, () => 0.999)).toBe(900);
  });

  it('never asks for less than a second', () => {
    expect(retryDelaySeconds(1, 1, 1, () => 0)).toBe(1);
  });
});
