/** The time one API call may still spend, from its deadline (epoch ms); unlimited without one. */
import { ThingSpaceError } from '../../domain/thingspace-error';

export class Budget {
  constructor(
    readonly deadline: number | undefined,
    private readonly now: () => number,
  ) {}

  remainingMs(): number {
    return this.deadline === undefined ? Number.POSITIVE_INFINITY : this.deadline - this.now();
  }

  /** The timeout for the next attempt; throws when the deadline leaves no time for one. */
  attemptTimeoutMs(timeoutMs: number): number {
    const available = Math.floor(Math.min(timeoutMs, this.remainingMs()));
    if (available < 1) throw new ThingSpaceError('timeout', 'The deadline passed before ThingSpace answered');
    return available;
  }

  /** A wait is worth it only if it ends before the deadline, with time left for the next attempt. */
  allowsWait(waitMs: number): boolean {
    return waitMs < this.remainingMs();
  }
}
