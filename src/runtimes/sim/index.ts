/**
 * The `sim` runtime: the simulated OpenAI-compatible server as a worker process
 * (`tokenforge sim`), timed by fixed seeded delays or by a performance model (`--perf` in the
 * deployment's engine args). Deployable like any runtime, so the gateway and the harness can be
 * exercised without an engine.
 */
import type { RuntimeDefinition } from "../../spec/runtime.js";

export function simRuntime(cli: { command: string; args: string[] }): RuntimeDefinition {
  return {
    name: "sim",
    description:
      "simulated OpenAI-compatible server: fixed TTFT and inter-token latency, or a performance model (--perf) with batching and queueing (no engine)",
    localProcess: ({ model, port, host, extraArgs }) => ({
      command: cli.command,
      args: [...cli.args, "sim", "--host", host, "--port", String(port), "--model", model, ...extraArgs],
      env: {},
    }),
  };
}
