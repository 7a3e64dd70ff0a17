/** Retrying pending uploads in the background, for a long-running process (the gateway). */
import type { ArtifactStore } from "../../spec/store.js";

export interface RetryLoopOptions {
  /** Time between retries (default 60 s). */
  intervalMs?: number;
  /** Told the pending count after each retry, or the error it threw. */
  onResult?: (pending: number | undefined, err?: unknown) => void;
}

/** Calls `store.retryPending()` now and every `intervalMs`; `stop()` ends it. The timer never keeps the process alive. */
export function startRetryLoop(store: ArtifactStore, opts: RetryLoopOptions = {}): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    running = store
      .retryPending()
      .then(
        (n) => opts.onResult?.(n),
        (err: unknown) => opts.onResult?.(undefined, err),
      )
      .catch(() => {}); // a throwing onResult must not become an unhandled rejection
  };
  const timer = setInterval(tick, opts.intervalMs ?? 60_000);
  timer.unref();
  tick();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
