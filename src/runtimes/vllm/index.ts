/**
 * The vLLM runtime: vLLM's own OpenAI-compatible server (`vllm serve`), which already speaks the
 * worker protocol (shared/PROTOCOL.md), so TokenForge only builds its command line (args.ts) or
 * its container (container.ts). No in-process engine.
 */
import type { RuntimeDefinition } from "../../spec/runtime.js";
import { WORKER_HEALTH } from "../worker-protocol.js";
import { VLLM_IMAGE, VLLM_OWNED_FLAGS, vllmArgs } from "./args.js";
import { vllmContainer } from "./container.js";
import { VLLM_METRICS } from "./metrics.js";

export function vllmRuntime(opts: { command?: string } = {}): RuntimeDefinition {
  const command = opts.command ?? "vllm";
  return {
    specificationVersion: "v1",
    name: "vllm",
    description: `vLLM's OpenAI-compatible server (\`vllm serve\`; CUDA GPU; container ${VLLM_IMAGE})`,
    localProcess: ({ model, quant, port, host, extraArgs }) => {
      const [serve, m, ...rest] = vllmArgs({ model, quant, engineArgs: extraArgs });
      return { command, args: [serve!, m!, "--host", host, "--port", String(port), ...rest], env: {} };
    },
    container: vllmContainer,
    ownedFlags: VLLM_OWNED_FLAGS,
    // vLLM listens only once loaded (before that the connection is refused) and exits on failure.
    health: WORKER_HEALTH,
    metrics: VLLM_METRICS,
  };
}
