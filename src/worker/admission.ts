/**
 * Admission in front of the engine: up to `max_num_seqs` requests run and up to `maxWaiting` more
 * wait; beyond that a request is refused at once, before its body is read, so an overloaded
 * worker answers 429 in well under a millisecond of its own time instead of queueing without end.
 *
 * With a queue-time budget a request is also refused at once when the wait it can expect is
 * longer than the budget: (its place in the queue + 1) × how long a request holds a sequence
 * (a moving average of the last ones) / the sequences. Until a request has finished there is no
 * estimate and only the queue's length bounds admission. A request that still waits when its
 * budget runs out is refused then (the generate route arms that deadline).
 *
 * Engine-independent: it counts requests between their arrival and the end of their response,
 * which is what the engine's running + waiting would be, plus those being read or tokenized.
 */

/** Why a request was refused; the `reason` label of the refusal counters. */
export type RefusalReason = "queue_full" | "queue_time" | "queue_timeout" | "prompt_too_large";

/** One admitted request's hold on the worker; release it exactly when its response has ended. */
export interface Ticket {
  /** The request holds a sequence now (its wait is over). */
  started(): void;
  release(): void;
}

export type AdmissionResult =
  | { admitted: true; ticket: Ticket }
  | { admitted: false; reason: "queue_full" | "queue_time"; message: string; retryAfterS: number };

/** Weight of the newest hold time in the moving average. */
const EWMA_WEIGHT = 0.2;

export class Admission {
  private inFlight = 0;
  /** Moving average of how long an admitted request held its sequence, ms; undefined before the first. */
  private holdMs: number | undefined;

  constructor(
    private readonly maxWaiting: number,
    private readonly maxQueueMs: number | undefined,
  ) {}

  /** Requests admitted whose responses have not ended. */
  get admitted(): number {
    return this.inFlight;
  }

  /** The wait a request arriving now can expect, ms (0 when a sequence is free; undefined when unknown). */
  expectedWaitMs(sequences: number): number | undefined {
    const ahead = this.inFlight - sequences;
    if (ahead < 0) return 0;
    if (this.holdMs === undefined) return undefined;
    return ((ahead + 1) * this.holdMs) / sequences;
  }

  tryEnter(sequences: number): AdmissionResult {
    const limit = sequences + this.maxWaiting;
    if (this.inFlight >= limit) {
      return {
        admitted: false,
        reason: "queue_full",
        message: `over capacity: ${sequences} sequences running and ${this.maxWaiting} requests waiting (--max-waiting); retry later`,
        retryAfterS: this.retryAfter(sequences),
      };
    }
    if (this.maxQueueMs !== undefined) {
      const wait = this.expectedWaitMs(sequences);
      if (wait !== undefined && wait > this.maxQueueMs) {
        return {
          admitted: false,
          reason: "queue_time",
          message: `over capacity: the expected wait for a sequence is ${Math.round(wait)} ms, past the ${this.maxQueueMs} ms budget (--max-queue-ms); retry later`,
          retryAfterS: this.retryAfter(sequences),
        };
      }
    }
    this.inFlight++;
    let startedAt: number | undefined;
    let released = false;
    return {
      admitted: true,
      ticket: {
        started: () => {
          startedAt ??= performance.now();
        },
        release: () => {
          if (released) return;
          released = true;
          this.inFlight--;
          if (startedAt !== undefined) this.observeHold(performance.now() - startedAt);
        },
      },
    };
  }

  private observeHold(ms: number): void {
    this.holdMs = this.holdMs === undefined ? ms : this.holdMs + EWMA_WEIGHT * (ms - this.holdMs);
  }

  /** Whole seconds (HTTP's Retry-After) until a sequence is likely free: at least 1. */
  private retryAfter(sequences: number): number {
    if (this.holdMs === undefined) return 1;
    return Math.max(1, Math.ceil(this.holdMs / sequences / 1000));
  }
}
