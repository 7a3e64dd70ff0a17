/**
 * Compatibility row: OpenAI's own API, through a stand-in (test/helpers/standins/openai-api.ts):
 * an API key, a chat-only model, no /tokenize, ignore_eos refused.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configFromObject } from "../../src/bench/config.js";
import { runBenchmark } from "../../src/bench/run.js";
import { openaiRuntime } from "../../src/runtimes/openai/index.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import { defineConformance } from "../conformance/suite.js";
import { OPENAI_STANDIN_KEY, startOpenAiStandIn } from "../helpers/standins/openai-api.js";
import type { StandIn } from "../helpers/standins/openai-like.js";
import { defineBenchmarkRow } from "./bench-row.js";

defineConformance("openai API (stand-in)", async () => {
  const s = await startOpenAiStandIn();
  return {
    url: s.url,
    model: "gpt-4o-mini",
    headers: { authorization: `Bearer ${OPENAI_STANDIN_KEY}` },
    close: () => s.close(),
    capabilities: {
      tokenize: "OpenAI's API has no /tokenize",
      health: "OpenAI's API has no /health",
      completions: "gpt-4o-mini is a chat model: /v1/completions answers 404",
      checksModel: true,
      runningRequests: async () => s.running,
      healthWhileLoading: "a hosted API is never loading from the client's side",
      ignoreEos: "OpenAI refuses ignore_eos with a 400 (an unrecognized argument)",
    },
  };
});

defineBenchmarkRow(
  "OpenAI API (stand-in), chat",
  async () => {
    const s = await startOpenAiStandIn();
    return { url: s.url, model: "gpt-4o-mini", apiKey: OPENAI_STANDIN_KEY, close: () => s.close() };
  },
  {
    endpoint: "chat",
    // Counted by the server's own usage on the first-request check: the chat template's 7 tokens.
    calibration: { source: "server-usage", overhead: 7 },
    passedOver: [/no count for a 1-word probe/],
    exactLengths: false,
    ignoreEosSent: false,
  },
);

describe("compatibility: OpenAI API (stand-in), completions on a chat-only model", () => {
  let s: StandIn;
  let dir: string;
  beforeAll(async () => {
    s = await startOpenAiStandIn();
    dir = mkdtempSync(join(tmpdir(), "tokenforge-compat-"));
  });
  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("stops before the schedule with the server's own message, as a usage error", async () => {
    const before = s.requests;
    const run = runBenchmark({
      config: configFromObject({
        model: "gpt-4o-mini",
        runtimes: ["openai"],
        targets: { openai: { url: s.url, api_key_env: "TF_COMPAT_KEY" } },
        workloads: [{ name: "w", num_requests: 20, qps: 10, prompt_len: 16, gen_tokens: 4 }],
      }),
      runtimes: new RuntimeRegistry([openaiRuntime()]),
      outDir: join(dir, "run"),
      serverMetrics: false,
      secrets: (v) => (v === "TF_COMPAT_KEY" ? OPENAI_STANDIN_KEY : undefined),
    });
    await expect(run).rejects.toMatchObject({
      code: "invalid_request",
      message: expect.stringMatching(/first request .* failed.*This is a chat model/),
    });
    // The check alone: nothing of the 20-request schedule went out.
    expect(s.requests - before).toBe(1);
  });
});
