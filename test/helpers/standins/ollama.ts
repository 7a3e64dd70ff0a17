/**
 * A STAND-IN for Ollama's OpenAI-compatible routes under `/v1` (not Ollama): completions and
 * chat, usage in streams with `stream_options.include_usage`, a 404 for a model it has not
 * pulled. Ollama has no `/tokenize` and no `/health` (its root answers "Ollama is running"), and
 * its OpenAI routes do not list `ignore_eos`: an unknown field is accepted and has no effect.
 */
import { type StandIn, type StandInOptions, startStandIn } from "./openai-like.js";

export function startOllamaStandIn(extra: Partial<StandInOptions> = {}): Promise<StandIn> {
  return startStandIn({
    name: "ollama (stand-in)",
    model: "llama3.2:1b",
    tokenize: "none",
    ignoreEos: "ignored",
    health: false,
    ...extra,
  });
}
