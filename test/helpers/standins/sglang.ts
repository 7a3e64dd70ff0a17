/**
 * A STAND-IN for SGLang's OpenAI routes (not SGLang): completions and chat with `ignore_eos`
 * honoured (one of its sampling parameters), usage in streams with
 * `stream_options.include_usage`, `GET /health`, and `/tokenize` in vLLM's shape
 * (`{model, prompt}` → `{tokens, count, max_model_len}`). It does not imitate SGLang's handling of
 * an unknown model name.
 */
import { type StandIn, type StandInOptions, startStandIn } from "./openai-like.js";

export function startSglangStandIn(extra: Partial<StandInOptions> = {}): Promise<StandIn> {
  return startStandIn({
    name: "sglang (stand-in)",
    model: "sglang-model",
    tokenize: "vllm",
    ignoreEos: "honoured",
    checksModel: false,
    ...extra,
  });
}
