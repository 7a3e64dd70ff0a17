/**
 * When to restart a worker that exited: exponential backoff, and a budget of restarts within a
 * sliding window, so a worker that crashes once a day is restarted forever but a crash loop stops.
 */

export interface RestartPolicy {
  /** Delay before the first restart in the window; each further restart doubles it. */
  initialDelayMs: number;
  /** Cap on the delay. */
  maxDelayMs: number;
  /** Restarts allowed within `windowMs`; one more exit and the replica has failed. */
  maxRestarts: number;
  windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  maxRestarts: 5,
  windowMs: 10 * 60_000,
};

/** One replica's restart history (times from `performance.now()`). */
export class RestartBudget {
  private recent: number[] = [];

  constructor(private readonly policy: RestartPolicy) {}

  /** The delay before the next restart, or undefined when the budget is spent. Records the restart. */
  next(now: number): number | undefined {
    this.recent = this.recent.filter((t) => now - t < this.policy.windowMs);
    if (this.recent.length >= this.policy.maxRestarts) return undefined;
    const delay = Math.min(this.policy.maxDelayMs, this.policy.initialDelayMs * 2 ** this.recent.length);
    this.recent.push(now);
    return delay;
  }
}
