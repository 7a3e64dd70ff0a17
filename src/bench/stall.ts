/**
 * How long a request may go without a byte from the server before it ends as an error (the stall
 * timeout), per workload and target. A workload's `stall_timeout_s` wins; otherwise the timeout is
 * ten times the time the workload's largest request is expected to take, and never under 30 s.
 *
 * The expected time comes from the first-request check (first-request.ts), measured on the same
 * target: its end-to-end time, scaled by how much larger the workload's largest prompt and largest
 * output can be than the check's (whichever ratio is greater, at least 1). Ten times that allows
 * for a slower server under load without letting a stalled stream hold a run for minutes; the
 * 30 s floor keeps a fast check on a small model from making a hiccup fatal. Queueing is not a
 * stall: before its reply starts, a request is only failed when the whole target has also sent
 * nothing for that long (client.ts).
 */
import { DEFAULT_STALL_TIMEOUT_MS } from "./client.js";
import type { Distribution, Workload } from "./types.js";

export const MIN_STALL_TIMEOUT_MS = 30_000;
export const STALL_TIMEOUT_FACTOR = 10;
/**
 * The check request's own timeout when the workload sets none: nothing is known of the target's
 * speed yet, and it costs at most this once per target.
 */
export const CHECK_STALL_TIMEOUT_MS = 300_000;

/** A request measured on the target, the yardstick of what a workload's requests take. */
export interface ReferenceRequest {
  e2eMs: number;
  promptTokens: number;
  completionTokens: number;
}

/**
 * The stall timeout of `workload` on a target where `reference` was measured; without a
 * reference (no check ran), `DEFAULT_STALL_TIMEOUT_MS`. `largestPrompt` overrides the prompt
 * distribution's largest draw (a dataset's longest prompt, counted on the target).
 */
export function stallTimeoutMs(
  workload: Workload,
  reference: ReferenceRequest | undefined,
  largestPrompt?: number,
): number {
  if (workload.stallTimeoutS !== undefined) return workload.stallTimeoutS * 1000;
  if (reference === undefined) return DEFAULT_STALL_TIMEOUT_MS;
  return Math.max(
    MIN_STALL_TIMEOUT_MS,
    STALL_TIMEOUT_FACTOR * expectedRequestMs(workload, reference, largestPrompt),
  );
}

/** The reference's time scaled up to the workload's largest prompt and output. */
export function expectedRequestMs(
  workload: Workload,
  reference: ReferenceRequest,
  largestPrompt?: number,
): number {
  const prompt = largestPrompt ?? largestDraw(workload.promptLen);
  const output = largestDraw(workload.genTokens);
  const scale = Math.max(
    1,
    prompt / Math.max(1, reference.promptTokens),
    output / Math.max(1, reference.completionTokens),
  );
  return reference.e2eMs * scale;
}

/** The largest value a distribution draws (a `normal` without `max`: mean + 4 standard deviations). */
export function largestDraw(d: Distribution): number {
  switch (d.kind) {
    case "fixed":
      return d.value;
    case "uniform":
      return Math.max(d.min, d.max);
    case "list":
      return Math.max(...d.values);
    case "normal":
      return d.max ?? Math.ceil(d.mean + 4 * d.stdev);
  }
}
