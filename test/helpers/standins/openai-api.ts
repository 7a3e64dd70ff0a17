/**
 * A STAND-IN for OpenAI's own API (not OpenAI): a bearer API key, a chat-only model (its
 * `/v1/completions` answers 404 "This is a chat model and not supported in the v1/completions
 * endpoint"), no `/tokenize`, no `/health`, an argument it does not know refused with 400
 * "Unrecognized request argument supplied: ignore_eos", and usage in a stream only with
 * `stream_options.include_usage`.
 */
import { type StandIn, type StandInOptions, startStandIn } from "./openai-like.js";

export const OPENAI_STANDIN_KEY = "sk-standin-0123456789abcdef";

export function startOpenAiStandIn(extra: Partial<StandInOptions> = {}): Promise<StandIn> {
  return startStandIn({
    name: "openai (stand-in)",
    model: "gpt-4o-mini",
    tokenize: "none",
    ignoreEos: "refused",
    completions: false,
    health: false,
    apiKey: OPENAI_STANDIN_KEY,
    chatOverhead: 7,
    ...extra,
  });
}
