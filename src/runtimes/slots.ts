/**
 * A fixed number of generation slots with a FIFO queue in front of them. A request waits here
 * (counted as "waiting") until a slot frees; aborting while queued removes it without ever
 * taking a slot.
 */

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

export class Slots {
  private free: number;
  private readonly queue: Waiter[] = [];

  constructor(readonly capacity: number) {
    this.free = capacity;
  }

  get running(): number {
    return this.capacity - this.free;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Resolves with a release function once a slot is held; rejects with the signal's reason on abort. */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.free > 0 && this.queue.length === 0) {
      this.free--;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener("abort", waiter.onAbort, { once: true });
      this.queue.push(waiter);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) {
        next.signal.removeEventListener("abort", next.onAbort);
        next.resolve(this.releaser());
      } else {
        this.free++;
      }
    };
  }
}
