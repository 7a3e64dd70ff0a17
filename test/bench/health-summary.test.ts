/** What a run records of a target's /health answer (bench/health-summary.ts): never the body itself. */
import { describe, expect, it } from "vitest";
import { healthSummary, modelsSummary } from "../../src/bench/health-summary.js";

describe("health summary", () => {
  it("keeps the status and the known scalar keys a worker reports", () => {
    const body = {
      status: "ready",
      runtime: "llamacpp",
      engineVersion: "3.1.0",
      model: "synthetic:tiny",
      modelPath: "/home/someone/.cache/tokenforge/models/x.gguf",
      parallel: 8,
      contextLength: 2048,
      limits: { max_waiting: 16 },
      details: { secret: "x" },
    };
    expect(healthSummary(200, body)).toEqual({
      http_status: 200,
      status: "ready",
      runtime: "llamacpp",
      engineVersion: "3.1.0",
      model: "synthetic:tiny",
      parallel: 8,
      contextLength: 2048,
    });
  });

  it("drops whatever else answered: text bodies, unknown keys, control characters, long strings", () => {
    expect(healthSummary(200, "SSH-2.0-OpenSSH_9.6\r\nsecret banner")).toEqual({ http_status: 200 });
    expect(healthSummary(200, [1, 2, 3])).toEqual({ http_status: 200 });
    expect(healthSummary(200, { password: "hunter2", token: "abc", status: "ok" })).toEqual({
      http_status: 200,
      status: "ok",
    });
    const long = healthSummary(200, { model: `${"a".repeat(500)}\u0000\n` });
    expect(long.model).toBe(`${"a".repeat(128)}…`);
    expect(healthSummary(200, { parallel: Number.NaN, threads: { n: 4 } })).toEqual({ http_status: 200 });
  });

  it("keeps up to 8 model ids of a /v1/models answer", () => {
    const data = Array.from({ length: 12 }, (_, i) => ({ id: `m${i}`, owned_by: "someone" }));
    expect(modelsSummary(200, { object: "list", data })).toEqual({
      http_status: 200,
      models: data.slice(0, 8).map((m) => m.id),
    });
    expect(modelsSummary(200, "not json")).toEqual({ http_status: 200 });
  });
});
