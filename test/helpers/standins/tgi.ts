/**
 * A STAND-IN for Hugging Face TGI's OpenAI routes (not TGI): `/v1/completions` and
 * `/v1/chat/completions`, `GET /health`, and its own `/tokenize`, which takes `{inputs}` and
 * answers a list of `{id, text, start, stop}`. TGI serves the one model it was started with and
 * does not check a request's `model`; its OpenAI routes have no `ignore_eos`, so the argument is
 * accepted and has no effect: output stops where the model emits its end token.
 */
import { type StandIn, type StandInOptions, startStandIn } from "./openai-like.js";

export function startTgiStandIn(extra: Partial<StandInOptions> = {}): Promise<StandIn> {
  return startStandIn({
    name: "tgi (stand-in)",
    model: "tgi",
    tokenize: "tgi",
    ignoreEos: "ignored",
    checksModel: false,
    ...extra,
  });
}
