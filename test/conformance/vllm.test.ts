/**
 * vLLM against the worker-protocol suite, through the `vllm` runtime and its test stand-in. Until
 * both exist (src/runtimes/vllm/index.ts, test/helpers/vllm-standin.ts) the suite is skipped with
 * the reason printed; the lead fills in `start` when they land.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const missing = ["src/runtimes/vllm/index.ts", "test/helpers/vllm-standin.ts"].filter(
  (p) => !existsSync(join(ROOT, p)),
);
const reason = missing.length > 0 ? `not present yet: ${missing.join(", ")}` : "start() not wired up yet";
console.info(`[conformance vllm] skipped: ${reason}`);

describe.skip(`worker protocol conformance: vllm — skipped: ${reason}`, () => {
  // When both files exist: defineConformance("vllm", async () => { ...start the stand-in... }).
  it("runs the shared suite", () => {});
});
