/**
 * A logical clock for code that takes `now` and `sleep`: sleeping advances it, so waits cost no real
 * time and can be asserted exactly. `time` may also be moved forward by a test.
 */
export function fakeClock(start = 1_700_000_000_000) {
  const clock = {
    time: start,
    sleeps: [] as number[],
    now: () => clock.time,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.time += ms;
    },
  };
  return clock;
}
