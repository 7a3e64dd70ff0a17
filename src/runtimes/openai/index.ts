/**
 * The `openai` runtime: any server that already speaks the OpenAI API (TGI, SGLang, llama.cpp's
 * own server, Ollama's `/v1`, hosted APIs), reached at a base URL with an optional API key from an
 * environment variable. TokenForge benchmarks it and sends it inference requests; it never
 * deploys it, so `localProcess` refuses with a pointer to `targets.<name>`.
 */
import { TokenForgeError } from "../../errors.js";
import type { RuntimeDefinition } from "../../spec/runtime.js";
import { BACKEND_OWNED_FLAGS, refuseOwnedFlags } from "../flags.js";
import { WORKER_HEALTH } from "../worker-protocol.js";

export function openaiRuntime(): RuntimeDefinition {
  return {
    specificationVersion: "v1",
    name: "openai",
    description:
      "any OpenAI-compatible server already running (TGI, SGLang, llama.cpp server, Ollama /v1, hosted APIs): attach only, with an API key from an environment variable",
    // Never launched, but engine arguments that name a server's address or model are refused as
    // for every runtime, before the attach-only answer.
    localProcess: ({ extraArgs }) => {
      refuseOwnedFlags("openai", extraArgs, BACKEND_OWNED_FLAGS);
      throw new TokenForgeError(
        "invalid_request",
        'runtime "openai" only attaches to a server that is already running and cannot be deployed: ' +
          "set targets.<name> to its base URL, or to {url, api_key_env} when it needs an API key",
        { field: "runtime" },
      );
    },
    ownedFlags: BACKEND_OWNED_FLAGS,
    health: WORKER_HEALTH,
  };
}
