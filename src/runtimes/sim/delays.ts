/**
 * The simulated server's fixed-delay timing: a TTFT and an inter-token delay, each with a seeded
 * uniform ±jitter (never below 0). The jitter is drawn from xoshiro128** (models/prng.ts), like
 * every other draw in TokenForge, in the order the delays are taken.
 */
import { Xoshiro128 } from "../../models/prng.js";

export class FixedDelays {
  private readonly rng: Xoshiro128;

  constructor(
    readonly ttftMs: number,
    readonly itlMs: number,
    readonly jitterMs: number,
    seed: number,
  ) {
    this.rng = new Xoshiro128(seed >>> 0);
  }

  /** The delay before the first content chunk. */
  ttft(): number {
    return this.jittered(this.ttftMs);
  }

  /** The delay from one content chunk's write to the next. */
  itl(): number {
    return this.jittered(this.itlMs);
  }

  /** What a whole reply of `chunks` chunks waits: as long as its stream would have taken. */
  whole(chunks: number): number {
    let total = this.ttft();
    for (let c = 1; c < chunks; c++) total += this.itl();
    return total;
  }

  private jittered(base: number): number {
    if (this.jitterMs === 0) return base;
    const d = base + (this.rng.next() * 2 - 1) * this.jitterMs;
    return Math.max(d, 0);
  }
}
