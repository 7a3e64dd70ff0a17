/**
 * A run's store writes, in order, retried through a database outage: a write that fails with a
 * server-side error (a lost connection, a refused one) is tried again with backoff, and the writes
 * behind it wait, so a run that ends during an outage is recorded whole once the database is
 * back. A write refused for its content (a 4xx) is not retried; it is reported and skipped.
 */
import { isTokenForgeError } from "../errors.js";

export interface WriteQueueOptions {
  /** First pause after a failure, doubled up to `maxDelayMs` (defaults 500 ms and 30 s). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Called for each failure, retried or not (for logs). */
  onError?: (what: string, err: unknown, willRetry: boolean) => void;
}

export class WriteQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  private closed = false;

  constructor(private readonly o: WriteQueueOptions = {}) {}

  /** Writes waiting or being tried. */
  get size(): number {
    return this.pending;
  }

  /** Queues `write`; it runs after every write queued before it has landed (or been refused). */
  push(what: string, write: () => Promise<unknown>): void {
    this.pending++;
    this.tail = this.tail.then(() => this.attempt(what, write)).finally(() => this.pending--);
  }

  /** Resolves once every write queued so far has landed or been refused. */
  flush(): Promise<void> {
    return this.tail;
  }

  /** Stops retrying: writes still failing give up at their next attempt. */
  close(): void {
    this.closed = true;
  }

  private async attempt(what: string, write: () => Promise<unknown>): Promise<void> {
    let delay = this.o.initialDelayMs ?? 500;
    for (;;) {
      try {
        await write();
        return;
      } catch (err) {
        const retry = !this.closed && !(isTokenForgeError(err) && err.status < 500);
        this.o.onError?.(what, err, retry);
        if (!retry) return;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, this.o.maxDelayMs ?? 30_000);
      }
    }
  }
}
