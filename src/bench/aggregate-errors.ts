/**
 * The failed requests of a workload, sampled: up to five distinct failures (by outcome, HTTP
 * status and message), each with how many requests failed that way.
 */
import type { ErrorSample } from "./metric-types.js";
import type { Outcome, RequestTrace } from "./types.js";

const MAX_ERROR_SAMPLES = 5;

export class ErrorSampler {
  private readonly samples = new Map<string, ErrorSample>();

  /** Counts one failed (errored or incomplete) request. */
  add(t: RequestTrace): void {
    const outcome = t.outcome as Exclude<Outcome, "ok">;
    const error = t.error ?? (outcome === "incomplete" ? "stream ended early" : "error");
    const key = `${outcome}\u0000${t.status ?? ""}\u0000${error}`;
    const seen = this.samples.get(key);
    if (seen !== undefined) seen.count++;
    else if (this.samples.size < MAX_ERROR_SAMPLES) {
      const sample: ErrorSample = { outcome, error, count: 1 };
      if (t.status !== undefined) sample.status = t.status;
      this.samples.set(key, sample);
    }
  }

  /** The samples, in the order their failures were first seen. */
  list(): ErrorSample[] {
    return [...this.samples.values()];
  }
}
