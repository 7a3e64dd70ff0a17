/** Polls a starting worker's `GET /health` until it answers 200, the process exits, or time runs out. */
import { request } from "undici";
import { sleep } from "./abortable.js";

export type HealthOutcome = "ready" | "exited" | "timeout" | "aborted";

export interface HealthWait {
  timeoutMs: number;
  intervalMs: number;
  /** Settles when the process exits: waiting stops at once. */
  exited: Promise<unknown>;
  signal: AbortSignal;
}

export async function waitForHealth(endpoint: string, wait: HealthWait): Promise<HealthOutcome> {
  const deadline = performance.now() + wait.timeoutMs;
  let exited = false;
  void wait.exited.then(() => {
    exited = true;
  });
  // Stops the probe or the pause between probes as soon as the process exits or we are stopped.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  wait.signal.addEventListener("abort", onAbort, { once: true });
  void wait.exited.then(() => stop.abort());
  try {
    for (;;) {
      if (wait.signal.aborted) return "aborted";
      if (exited) return "exited";
      const remaining = deadline - performance.now();
      if (remaining <= 0) return "timeout";
      if (await probe(endpoint, Math.min(remaining, 2000), stop.signal)) return "ready";
      await sleep(Math.min(wait.intervalMs, Math.max(0, deadline - performance.now())), stop.signal);
    }
  } finally {
    wait.signal.removeEventListener("abort", onAbort);
    stop.abort();
  }
}

async function probe(endpoint: string, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  try {
    const res = await request(`${endpoint}/health`, {
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal,
    });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    // Not listening yet, or stopped.
    return false;
  }
}
