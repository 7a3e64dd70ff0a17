/**
 * The one health poller: reads a worker's `/health` through its runtime's health contract
 * (loading, ready or failed with the worker's own reason) and waits for a starting worker until
 * it is ready, has failed, has exited, or time runs out. The local backend and the harness use it.
 */
import { request } from "undici";
import type { HealthContract, HealthState } from "../spec/runtime.js";
import { sleep } from "./local/abortable.js";

/** One answer, read; `unreachable` when nothing answered (not listening yet, refused, timed out). */
export type HealthCheck = (HealthState & { status: number }) | { state: "unreachable"; error: string };

/** A health answer larger than this is cut (its text is detail, not data). */
const MAX_BODY_BYTES = 64 * 1024;

export async function checkHealth(
  endpoint: string,
  contract: HealthContract,
  options: { timeoutMs: number; signal?: AbortSignal; headers?: Record<string, string> },
): Promise<HealthCheck> {
  try {
    const res = await request(`${endpoint.replace(/\/+$/, "")}${contract.path}`, {
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.headers === undefined ? {} : { headers: options.headers }),
    });
    const text = await boundedText(res.body);
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: the text is the detail.
    }
    return { ...contract.read(res.statusCode, body), status: res.statusCode };
  } catch (err) {
    return { state: "unreachable", error: (err as Error).message || String(err) };
  }
}

async function boundedText(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= MAX_BODY_BYTES) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString("utf8");
}

export type HealthOutcome =
  | { kind: "ready" }
  | { kind: "failed"; reason: string }
  | { kind: "exited" }
  | { kind: "timeout" }
  | { kind: "aborted" };

export interface HealthWait {
  timeoutMs: number;
  intervalMs: number;
  /** Settles when the process exits: waiting stops at once. */
  exited: Promise<unknown>;
  signal: AbortSignal;
}

/** Polls `endpoint` until the worker is ready, says it failed, exits, or time runs out. */
export async function waitForHealth(
  endpoint: string,
  contract: HealthContract,
  wait: HealthWait,
): Promise<HealthOutcome> {
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
      if (wait.signal.aborted) return { kind: "aborted" };
      if (exited) return { kind: "exited" };
      const remaining = deadline - performance.now();
      if (remaining <= 0) return { kind: "timeout" };
      const check = await checkHealth(endpoint, contract, {
        timeoutMs: Math.min(remaining, 2000),
        signal: stop.signal,
      });
      if (check.state === "ready") return { kind: "ready" };
      if (check.state === "failed") return { kind: "failed", reason: check.reason };
      await sleep(Math.min(wait.intervalMs, Math.max(0, deadline - performance.now())), stop.signal);
    }
  } finally {
    wait.signal.removeEventListener("abort", onAbort);
    stop.abort();
  }
}
