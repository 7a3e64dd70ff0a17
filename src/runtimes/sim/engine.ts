/**
 * The simulated engine: a continuous-batching scheduler whose step times follow a performance
 * model (perf-model.ts). It keeps no clock of its own: a driver calls `beginStep()` for the next
 * step's duration and `endStep()` when that time has passed, in real time (the sim server) or in
 * virtual time (`capacity/replay.ts`), so both run exactly the same scheduling.
 *
 * Each step, waiting sequences are admitted first-come first-served while the running batch has
 * room (`maxBatch`) and the KV cache can hold their prompt plus all their output tokens (reserved
 * at admission, so nothing is ever preempted); the head of the queue blocks the ones behind it, as
 * in vLLM's FCFS scheduler. A step decodes one token of every started sequence and prefills
 * prompts (the step that finishes a prompt yields its first token), so its duration is
 *
 *     (overhead + prompt tokens prefilled / prefill_tokens_per_s, if it prefills)
 *       + decode_step(decoded sequences)
 *
 * scaled by a seeded jitter factor. With `maxBatchedTokens` a step holds at most that many tokens,
 * decodes first and the rest of the budget to prompts in admission order, so a long prompt is
 * prefilled over several steps (vLLM's chunked prefill, llama.cpp's batch size). A sequence
 * arriving during a step joins at the next one.
 */
import { Xoshiro128 } from "../../models/prng.js";
import { decodeStepMs, type PerfModel } from "./perf-model.js";

/** A token written by a step: the sequence's `tokens`-th (1-based); `done` after its last one. */
export interface Emission<K> {
  key: K;
  tokens: number;
  done: boolean;
}

interface Seq<K> {
  key: K;
  promptTokens: number;
  outputTokens: number;
  generated: number;
  /** Prompt tokens not prefilled yet. */
  prefillLeft: number;
  /** Prefill done: the sequence decodes one token a step. */
  started: boolean;
  /** This step's part: prompt tokens prefilled (0 for a decode), or -1 when not in the step. */
  take: number;
  /** Removed by `cancel` while admitted or waiting. */
  cancelled: boolean;
}

export class PerfEngine<K> {
  private readonly rng: Xoshiro128;
  private readonly waiting: Seq<K>[] = [];
  /** Index of the queue's head in `waiting` (the array is compacted now and then). */
  private head = 0;
  private readonly running: Seq<K>[] = [];
  private readonly byKey = new Map<K, Seq<K>>();
  private kvUsed = 0;
  // Kept as counts because the replay reads them after every step.
  private waitingN = 0;
  private runningN = 0;
  private inStep = false;
  /** Steps run so far, and how many of them prefilled something. */
  steps = 0;
  prefillSteps = 0;

  constructor(
    readonly model: PerfModel,
    seed = 0,
  ) {
    this.rng = new Xoshiro128(seed >>> 0, 0x5e1f);
  }

  /** Whether a sequence of this size can ever be admitted (its prompt plus output fits the cache). */
  fits(promptTokens: number, outputTokens: number): boolean {
    return promptTokens + outputTokens <= this.model.kvCacheTokens;
  }

  /** Queues a sequence; it is admitted at the start of a later step. */
  enqueue(key: K, promptTokens: number, outputTokens: number): void {
    if (!Number.isInteger(promptTokens) || promptTokens < 0)
      throw new RangeError(`promptTokens must be an integer >= 0, got ${promptTokens}`);
    if (!Number.isInteger(outputTokens) || outputTokens < 1)
      throw new RangeError(`outputTokens must be an integer >= 1, got ${outputTokens}`);
    if (!this.fits(promptTokens, outputTokens))
      throw new RangeError(
        `prompt ${promptTokens} + output ${outputTokens} tokens exceed the KV cache (${this.model.kvCacheTokens})`,
      );
    if (this.byKey.has(key)) throw new Error("sequence already queued");
    const s: Seq<K> = {
      key,
      promptTokens,
      outputTokens,
      generated: 0,
      prefillLeft: promptTokens,
      started: false,
      take: -1,
      cancelled: false,
    };
    this.byKey.set(key, s);
    this.waitingN++;
    this.waiting.push(s);
  }

  /** Drops a sequence (a client that went away); its KV cache is freed at once. */
  cancel(key: K): void {
    const s = this.byKey.get(key);
    if (!s) return;
    s.cancelled = true;
    this.byKey.delete(key);
    const i = this.running.indexOf(s);
    if (i >= 0) {
      this.kvUsed -= s.promptTokens + s.outputTokens;
      this.runningN--;
      // Mid-step the batch is left as it is: endStep skips cancelled sequences.
      if (!this.inStep) this.running.splice(i, 1);
    } else this.waitingN--;
  }

  /** Sequences queued, not admitted yet (cancelled ones not counted). */
  get waitingCount(): number {
    return this.waitingN;
  }

  /** Sequences admitted and not finished (cancelled ones not counted). */
  get runningCount(): number {
    return this.runningN;
  }

  /** KV-cache tokens reserved by the running batch. */
  get kvUsedTokens(): number {
    return this.kvUsed;
  }

  /** Nothing running and nothing waiting. */
  get idle(): boolean {
    return this.runningCount === 0 && this.waitingCount === 0;
  }

  /**
   * Admits what fits and fixes the step's batch; returns the step's duration in ms, or undefined
   * when there is nothing to run.
   */
  beginStep(): number | undefined {
    if (this.inStep) throw new Error("beginStep called twice without endStep");
    const m = this.model;
    let budget = m.maxBatchedTokens ?? Number.POSITIVE_INFINITY;
    let decoded = 0;
    // Decode first: one token per started sequence (validation keeps the budget ≥ max_batch).
    for (const s of this.running) {
      if (s.cancelled) continue;
      s.take = s.started ? 0 : -1;
      if (s.started) decoded++;
    }
    budget -= decoded;
    // Then the prompts still being prefilled, in admission order, as far as the budget goes.
    let prefillTokens = 0;
    let prefilling = 0;
    for (const s of this.running) {
      if (s.cancelled || s.started) continue;
      const take = Math.min(s.prefillLeft, budget);
      if (take <= 0 && s.prefillLeft > 0) continue;
      s.take = take;
      budget -= take;
      prefillTokens += take;
      prefilling++;
    }
    // Then new sequences, first come first served, while the batch, the cache and the budget last.
    while (this.head < this.waiting.length) {
      const s = this.waiting[this.head]!;
      if (s.cancelled) {
        this.head++;
        continue;
      }
      const need = s.promptTokens + s.outputTokens;
      if (this.runningN >= m.maxBatch || this.kvUsed + need > m.kvCacheTokens) break;
      if (budget <= 0 && s.promptTokens > 0) break;
      this.head++;
      this.kvUsed += need;
      this.running.push(s);
      this.waitingN--;
      this.runningN++;
      s.take = Math.min(s.prefillLeft, budget);
      budget -= s.take;
      prefillTokens += s.take;
      prefilling++;
    }
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
    if (decoded + prefilling === 0) return undefined;
    let ms = decodeStepMs(m.decode, decoded);
    if (prefilling > 0) {
      ms += m.prefillOverheadMs + (prefillTokens * 1000) / m.prefillTokensPerS;
      this.prefillSteps++;
    }
    if (m.jitter > 0) ms *= 1 + m.jitter * (this.rng.next() * 2 - 1);
    this.inStep = true;
    this.steps++;
    return ms;
  }

  /**
   * Ends the step begun last: a token for every sequence it decoded and for every one whose
   * prefill it finished (its first); finished sequences are freed.
   */
  endStep(): Emission<K>[] {
    if (!this.inStep) throw new Error("endStep called without beginStep");
    this.inStep = false;
    const out: Emission<K>[] = [];
    let w = 0;
    for (const s of this.running) {
      if (s.cancelled) continue;
      const take = s.take;
      s.take = -1;
      if (take < 0) {
        this.running[w++] = s; // waited for prefill budget
        continue;
      }
      if (!s.started) {
        s.prefillLeft -= take;
        if (s.prefillLeft > 0) {
          this.running[w++] = s;
          continue;
        }
        s.started = true;
      }
      s.generated++;
      const done = s.generated >= s.outputTokens;
      out.push({ key: s.key, tokens: s.generated, done });
      if (done) {
        this.kvUsed -= s.promptTokens + s.outputTokens;
        this.byKey.delete(s.key);
        this.runningN--;
      } else this.running[w++] = s;
    }
    this.running.length = w;
    return out;
  }
}
