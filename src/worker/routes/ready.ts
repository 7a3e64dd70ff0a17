/** The engine when it is ready; otherwise the 503 a client can retry after. */
import { TokenForgeError } from "../../errors.js";
import type { Engine } from "../../spec/engine.js";
import type { EngineHolder } from "../engine-holder.js";

export function requireEngine(holder: EngineHolder): Engine {
  const state = holder.state;
  switch (state.status) {
    case "ready":
      return state.engine;
    case "loading":
      throw new TokenForgeError("not_ready", "the model is still loading");
    case "failed":
      throw new TokenForgeError("not_ready", `the model failed to load: ${state.error}`);
    default:
      return state satisfies never;
  }
}
