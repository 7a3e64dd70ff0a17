/**
 * The `sim` runtime: the simulated OpenAI-compatible server as a worker process
 * (`tokenforge sim`), with fixed, seeded timing. Deployable like any runtime, so the gateway and
 * the harness can be exercised without an engine.
 */
import type { RuntimeDefinition } from "../../spec/runtime.js";

export function simRuntime(cli: { command: string; args: string[] }): RuntimeDefinition {
  return {
    name: "sim",
    description:
      "simulated OpenAI-compatible server with configurable TTFT and inter-token latency (no engine)",
    localProcess: ({ model, port, host, extraArgs }) => ({
      command: cli.command,
      args: [...cli.args, "sim", "--host", host, "--port", String(port), "--model", model, ...extraArgs],
      env: {},
    }),
  };
}
