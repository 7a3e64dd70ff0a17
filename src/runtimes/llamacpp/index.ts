/** The llama.cpp runtime: in-process through node-llama-cpp, or as a `tokenforge worker` process. */
import type { RuntimeDefinition, SettingWarning } from "../../spec/runtime.js";
import { refuseOwnedFlags } from "../flags.js";
import { WORKER_HEALTH, WORKER_METRICS } from "../worker-protocol.js";
import { LLAMACPP, LLAMACPP_OWNED_FLAGS, llamaCppContainer, modelWithQuant, workerArgs } from "./launch.js";

export function llamaCppRuntime(cli: { command: string; args: string[] }): RuntimeDefinition {
  return {
    specificationVersion: "v1",
    name: LLAMACPP,
    description:
      "llama.cpp in-process through node-llama-cpp (prebuilt, or built for this CPU; CPU, CUDA, Vulkan or Metal)",
    // node-llama-cpp loads only where an engine is made, so other commands start without it.
    createEngine: async (options) => (await import("./engine.js")).createLlamaCppEngine(options),
    localProcess: ({ model, quant, port, host, extraArgs }) => {
      refuseOwnedFlags(LLAMACPP, extraArgs, LLAMACPP_OWNED_FLAGS);
      const warnings: SettingWarning[] = [];
      const ref = modelWithQuant(model, quant, warnings);
      return {
        command: cli.command,
        args: [...cli.args, ...workerArgs(ref, host, port, extraArgs)],
        env: {},
        warnings,
      };
    },
    container: llamaCppContainer,
    ownedFlags: LLAMACPP_OWNED_FLAGS,
    health: WORKER_HEALTH,
    metrics: WORKER_METRICS,
  };
}
