/**
 * Runs the simulated engine (engine.ts) in real time for the sim server: one step at a time while
 * anything runs or waits, each step's tokens written when its time has passed. A request arriving
 * mid-step joins the next one, as in a continuous-batching engine.
 */
import { performance } from "node:perf_hooks";
import { PerfEngine } from "./engine.js";
import type { PerfModel } from "./perf-model.js";

/** What the clock hands each step's tokens to: a generation writing its reply. */
export interface TokenSink {
  emit(done: boolean): void;
}

export class EngineClock<K extends TokenSink> {
  readonly engine: PerfEngine<K>;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private due = 0;
  private stepping = false;

  constructor(model: PerfModel, seed: number) {
    this.engine = new PerfEngine<K>(model, seed);
  }

  /** Queues a generation; starts a step at once when the engine was idle. */
  submit(key: K, promptTokens: number, outputTokens: number): void {
    this.engine.enqueue(key, promptTokens, outputTokens);
    if (!this.stepping) this.startStep();
  }

  /** Drops a generation whose client left (a no-op for one already finished). */
  cancel(key: K): void {
    this.engine.cancel(key);
  }

  /** Stops the clock for good (the server is closing). */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private startStep(): void {
    const ms = this.engine.beginStep();
    if (ms === undefined) {
      this.stepping = false;
      return;
    }
    this.stepping = true;
    this.due = performance.now() + ms;
    this.arm();
  }

  private arm(): void {
    // A timer may fire up to a millisecond early (the loop's clock is cached): re-checked when it
    // fires, and the last fraction of a millisecond is spun through setImmediate.
    const left = this.due - performance.now();
    if (left >= 1) this.timer = setTimeout(this.onDue, left);
    else this.immediate = setImmediate(this.onDue);
  }

  private readonly onDue = (): void => {
    this.timer = undefined;
    this.immediate = undefined;
    if (performance.now() < this.due) {
      this.arm();
      return;
    }
    // The next step starts once this one's tokens are written, as an engine's next step starts
    // after the last one's sampling.
    for (const e of this.engine.endStep()) e.key.emit(e.done);
    this.startStep();
  };

  /** The scheduler's state under the worker's mirrors of vLLM's gauges (Prometheus text). */
  metrics(): string {
    const e = this.engine;
    return (
      "# HELP tokenforge:num_requests_running Requests holding a sequence in the running batch.\n" +
      "# TYPE tokenforge:num_requests_running gauge\n" +
      `tokenforge:num_requests_running ${e.runningCount}\n` +
      "# HELP tokenforge:num_requests_waiting Requests waiting for a sequence.\n" +
      "# TYPE tokenforge:num_requests_waiting gauge\n" +
      `tokenforge:num_requests_waiting ${e.waitingCount}\n` +
      "# HELP tokenforge:kv_cache_usage_perc Fraction of KV-cache cells in use (0..1), as vLLM's kv_cache_usage_perc.\n" +
      "# TYPE tokenforge:kv_cache_usage_perc gauge\n" +
      `tokenforge:kv_cache_usage_perc ${e.kvUsedTokens / e.model.kvCacheTokens}\n`
    );
  }
}
