/**
 * The worker's engine while it loads, once it is ready, or after loading failed. The HTTP server
 * starts before the model is loaded so that /health can say 503 "loading" meanwhile.
 */
import type { Engine } from "../spec/engine.js";

export type EngineState =
  | { status: "loading"; since: number }
  | { status: "ready"; engine: Engine; loadSeconds: number }
  | { status: "failed"; error: string };

export class EngineHolder {
  state: EngineState = { status: "loading", since: Date.now() };

  /** Starts loading; the promise never rejects (a failure is kept as state). */
  async load(load: () => Promise<Engine>): Promise<void> {
    const t0 = performance.now();
    try {
      const engine = await load();
      this.state = { status: "ready", engine, loadSeconds: (performance.now() - t0) / 1000 };
    } catch (err) {
      this.state = { status: "failed", error: err instanceof Error ? err.message : String(err) };
    }
  }

  get engine(): Engine | undefined {
    return this.state.status === "ready" ? this.state.engine : undefined;
  }
}
