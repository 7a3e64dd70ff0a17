/**
 * The runtime seam's owned-flags case (suite.ts) for every runtime TokenForge registers, and for
 * the fixture runtime that lives in one folder (test/fixtures/runtimes/echo/).
 */
import { llamaCppRuntime } from "../../src/runtimes/llamacpp/index.js";
import { openaiRuntime } from "../../src/runtimes/openai/index.js";
import { simRuntime } from "../../src/runtimes/sim/index.js";
import { transformersRuntime } from "../../src/runtimes/transformers/index.js";
import { vllmRuntime } from "../../src/runtimes/vllm/index.js";
import { echoRuntime } from "../fixtures/runtimes/echo/index.js";
import { defineOwnedFlagsConformance } from "./suite.js";

const self = { command: process.execPath, args: ["tokenforge.js"] };
for (const runtime of [
  llamaCppRuntime(self),
  simRuntime(self),
  transformersRuntime(),
  openaiRuntime(),
  vllmRuntime(),
  echoRuntime(),
]) {
  defineOwnedFlagsConformance(runtime);
}
