/**
 * Waiting for a deployment to be ready, whichever backend runs it: polls its status until it has
 * a ready endpoint, has failed (the error carries the backend's reason), is gone, the caller
 * aborts, or time runs out.
 */
import { TokenForgeError } from "../errors.js";
import type { DeploymentStatus } from "../spec/deployment.js";
import { sleep } from "./local/abortable.js";

export interface ReadyWait {
  /** What is being waited for, for messages ("the local sim worker"). */
  what: string;
  timeoutMs: number;
  /** Pause between reads (default 100 ms). */
  intervalMs?: number;
  signal?: AbortSignal;
}

/** Resolves with the first status that has a ready endpoint; rejects with why there is none. */
export async function waitForDeployment(
  read: () => Promise<DeploymentStatus | undefined>,
  wait: ReadyWait,
): Promise<DeploymentStatus> {
  const deadline = performance.now() + wait.timeoutMs;
  const signal = wait.signal ?? new AbortController().signal;
  for (;;) {
    if (signal.aborted) throw new TokenForgeError("not_ready", `cancelled while waiting for ${wait.what}`);
    const status = await read();
    if (status === undefined || status.state === "stopped") {
      throw new TokenForgeError("not_found", `${wait.what} is gone`);
    }
    if (status.endpoints.length > 0) return status;
    if (status.state === "failed") {
      throw new TokenForgeError(
        "engine_error",
        `${wait.what} failed: ${status.lastError ?? "no reason given"}`,
      );
    }
    if (performance.now() > deadline) {
      throw new TokenForgeError("not_ready", `${wait.what} was not ready within ${wait.timeoutMs} ms`);
    }
    await sleep(wait.intervalMs ?? 100, signal);
  }
}
