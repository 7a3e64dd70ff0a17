/**
 * The `openai` runtime: any server that already speaks the OpenAI API (TGI, SGLang, llama.cpp's
 * own server, Ollama's `/v1`, hosted APIs), reached at a base URL with an optional API key from an
 * environment variable. TokenForge benchmarks it and sends it inference requests; it never
 * deploys it, so `localProcess` refuses with a pointer to `targets.<name>`.
 */
import { TokenForgeError } from "../../errors.js";
import type { RuntimeDefinition } from "../../spec/runtime.js";

export function openaiRuntime(): RuntimeDefinition {
  return {
    name: "openai",
    description:
      "any OpenAI-compatible server already running (TGI, SGLang, llama.cpp server, Ollama /v1, hosted APIs): attach only, with an API key from an environment variable",
    localProcess: () => {
      throw new TokenForgeError(
        "invalid_request",
        'runtime "openai" only attaches to a server that is already running and cannot be deployed: ' +
          "set targets.<name> to its base URL, or to {url, api_key_env} when it needs an API key",
        { field: "runtime" },
      );
    },
  };
}

/**
 * The headers carrying the API key held by environment variable `envName`: `{authorization:
 * "Bearer <key>"}`, or `{}` when no variable is named. A variable that is named but unset or
 * empty is an error naming it (a silent unauthenticated run would only fail later, less clearly).
 */
export function apiKeyHeaders(
  envName: string | undefined,
  env: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env,
  field = "api_key_env",
): Record<string, string> {
  if (envName === undefined) return {};
  const key = env[envName]?.trim();
  if (!key) {
    throw new TokenForgeError(
      "invalid_request",
      `environment variable ${envName} (the API key named by ${field}) is not set`,
      { field },
    );
  }
  return { authorization: `Bearer ${key}` };
}
