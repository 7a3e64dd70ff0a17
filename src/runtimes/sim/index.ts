/**
 * The `sim` runtime: the simulated OpenAI-compatible server as a worker process
 * (`tokenforge sim`), timed by fixed seeded delays or by a performance model (`--perf` in the
 * deployment's engine args). Deployable like any runtime, so the gateway and the harness can be
 * exercised without an engine.
 */
import type { RuntimeDefinition } from "../../spec/runtime.js";
import { BACKEND_OWNED_FLAGS, refuseOwnedFlags } from "../flags.js";
import { quantNotApplied } from "../warnings.js";
import { WORKER_HEALTH, WORKER_METRICS } from "../worker-protocol.js";

/** `tokenforge sim` (node:util parseArgs) takes no abbreviations; `--model` is the id it serves. */
const OWNED = BACKEND_OWNED_FLAGS;

export function simRuntime(cli: { command: string; args: string[] }): RuntimeDefinition {
  return {
    specificationVersion: "v1",
    name: "sim",
    description:
      "simulated OpenAI-compatible server: fixed TTFT and inter-token latency, or a performance model (--perf) with batching and queueing (no engine)",
    localProcess: ({ model, quant, port, host, extraArgs }) => {
      refuseOwnedFlags("sim", extraArgs, OWNED);
      return {
        command: cli.command,
        args: [...cli.args, "sim", "--host", host, "--port", String(port), "--model", model, ...extraArgs],
        env: {},
        warnings: quantNotApplied(quant, "the simulated engine has no weights to quantize"),
      };
    },
    ownedFlags: OWNED,
    health: WORKER_HEALTH,
    metrics: WORKER_METRICS,
  };
}
