/** The llama.cpp runtime: in-process through node-llama-cpp, or as a `tokenforge worker` process. */
import type { RuntimeDefinition } from "../../spec/runtime.js";
import { createLlamaCppEngine } from "./engine.js";

export function llamaCppRuntime(cli: { command: string; args: string[] }): RuntimeDefinition {
  return {
    name: "llamacpp",
    description:
      "llama.cpp in-process through node-llama-cpp (prebuilt binaries; CPU, CUDA, Vulkan or Metal)",
    createEngine: createLlamaCppEngine,
    localProcess: ({ model, port, host, extraArgs }) => ({
      command: cli.command,
      args: [
        ...cli.args,
        "worker",
        "--runtime",
        "llamacpp",
        "--model",
        model,
        "--host",
        host,
        "--port",
        String(port),
        ...extraArgs,
      ],
      env: {},
    }),
  };
}
