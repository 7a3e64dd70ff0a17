/**
 * The `openai` runtime: attaching to a server that requires an API key (the sim behind an auth
 * gate). With the key from `apiKeyHeaders` the server passes the worker-protocol suite; without it
 * every request is a 401. Also the runtime's refusal to deploy, the config's `{url, api_key_env}`
 * target form, and a benchmark run that sends the key on the probe, /tokenize and every request.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeyHeaders } from "../../src/bench/auth.js";
import { configFromObject } from "../../src/bench/config.js";
import { ConfigError } from "../../src/bench/config-text.js";
import { runBenchmark } from "../../src/bench/run.js";
import { TokenForgeError } from "../../src/errors.js";
import { openaiRuntime } from "../../src/runtimes/openai/index.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import { type SimChild, startSimChild } from "../helpers/sim.js";
import { type AuthProxy, startAuthProxy } from "./auth-proxy.js";
import { defineConformance, metricValue } from "./suite.js";

/** A variable lookup over a fixed set, as `readEnv().secret` is over the environment. */
const vars =
  (set: Record<string, string>) =>
  (name: string): string | undefined =>
    set[name];

const KEY_ENV = "TF_CONFORMANCE_API_KEY";
const KEY = "sk-conformance-0123456789";

async function gatedSim(): Promise<{ sim: SimChild; proxy: AuthProxy }> {
  const sim = await startSimChild({ itlMs: 2, model: "hosted-model", noGroundTruth: true });
  const proxy = await startAuthProxy(sim.url, KEY);
  return { sim, proxy };
}

defineConformance("openai (sim behind an API key)", async () => {
  const { sim, proxy } = await gatedSim();
  return {
    url: proxy.url,
    model: "hosted-model",
    headers: apiKeyHeaders(KEY_ENV, vars({ [KEY_ENV]: KEY })),
    close: async () => {
      await proxy.close();
      await sim.stop();
    },
    capabilities: {
      tokenize: true,
      checksModel: true,
      runningRequests: (t) => metricValue(t, "sim_requests_running"),
      healthWhileLoading: "an attached server is already loaded; TokenForge never starts it",
    },
  };
});

describe("openai runtime", () => {
  let sim: SimChild;
  let proxy: AuthProxy;
  let dir: string;
  beforeAll(async () => {
    ({ sim, proxy } = await gatedSim());
    dir = mkdtempSync(join(tmpdir(), "tokenforge-openai-"));
  });
  afterAll(async () => {
    await proxy?.close();
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the gated server refuses a request without the key (or with a wrong one) with a 401", async () => {
    const body = JSON.stringify({ model: "hosted-model", prompt: "hi", max_tokens: 2 });
    const bare = await fetch(`${proxy.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { error: { code: string } }).error.code).toBe("invalid_api_key");
    const wrong = await fetch(`${proxy.url}/health`, { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    await wrong.body?.cancel();
    const right = await fetch(`${proxy.url}/health`, {
      headers: apiKeyHeaders(KEY_ENV, vars({ [KEY_ENV]: KEY })),
    });
    expect(right.status).toBe(200);
    await right.body?.cancel();
  });

  it("apiKeyHeaders: a bearer header, nothing when no variable is named, an error naming a missing one", () => {
    expect(apiKeyHeaders(KEY_ENV, vars({ [KEY_ENV]: KEY }))).toEqual({ authorization: `Bearer ${KEY}` });
    expect(apiKeyHeaders(undefined, vars({}))).toEqual({});
    expect(() => apiKeyHeaders("NO_SUCH_KEY_VAR", vars({}))).toThrow(/NO_SUCH_KEY_VAR/);
    expect(() => apiKeyHeaders("EMPTY_KEY_VAR", vars({ EMPTY_KEY_VAR: " " }))).toThrow(/EMPTY_KEY_VAR/);
  });

  it("cannot deploy: localProcess points at targets", () => {
    const runtime = openaiRuntime();
    expect(runtime.name).toBe("openai");
    expect(runtime.createEngine).toBeUndefined();
    let err: unknown;
    try {
      runtime.localProcess({ model: "m", port: 1, host: "127.0.0.1", extraArgs: [] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TokenForgeError);
    expect(err).toMatchObject({ code: "invalid_request", field: "runtime" });
    expect((err as Error).message).toMatch(/targets\.<name>/);
  });

  describe("config: targets as a URL or {url, api_key_env}", () => {
    const base = {
      model: "hosted-model",
      runtimes: ["openai", "sim"],
      workloads: [{ name: "w", num_requests: 4, qps: "inf", prompt_len: 8, gen_tokens: 4 }],
    };
    const problems = (targets: unknown): string[] => {
      try {
        configFromObject({ ...base, targets });
      } catch (err) {
        if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
        throw err;
      }
      return [];
    };

    it("normalizes both forms into targets and targetAuth", () => {
      const cfg = configFromObject({
        ...base,
        targets: { openai: { url: "https://api.example.com/v1/", api_key_env: KEY_ENV }, sim: "http://h:1/" },
      });
      expect(cfg.targets).toEqual({ openai: "https://api.example.com", sim: "http://h:1" });
      expect(cfg.targetAuth).toEqual({ openai: { apiKeyEnv: KEY_ENV } });
      const plain = configFromObject({ ...base, targets: { openai: { url: "http://h:2" } } });
      expect(plain.targets).toEqual({ openai: "http://h:2" });
      expect(plain.targetAuth).toBeUndefined();
    });

    it("refuses unknown keys, a bad URL and a bad variable name, each at its path", () => {
      expect(problems({ openai: { url: "http://h:1", api_key: "sk-x" } })).toEqual([
        expect.stringMatching(
          /^targets\.openai\.api_key: unknown key "api_key".*allowed keys: url, api_key_env/,
        ),
      ]);
      expect(problems({ openai: { url: "ftp://h", api_key_env: KEY_ENV } })).toEqual([
        expect.stringMatching(/^targets\.openai\.url: must be an http:\/\/ or https:\/\/ URL/),
      ]);
      expect(problems({ openai: { url: "http://h:1", api_key_env: "not a name" } })).toEqual([
        expect.stringMatching(/^targets\.openai\.api_key_env: must be an environment variable name/),
      ]);
      expect(problems({ openai: { api_key_env: KEY_ENV } })).toEqual([
        expect.stringMatching(/^targets\.openai\.url: is required/),
      ]);
      expect(problems({ nope: { url: "http://h:1" } })).toEqual([
        expect.stringMatching(/^targets\.nope: "nope" is not one of runtimes/),
      ]);
    });
  });

  describe("bench attaches with the key", () => {
    const config = () =>
      configFromObject({
        model: "hosted-model",
        runtimes: ["openai"],
        targets: { openai: { url: `${proxy.url}/v1`, api_key_env: KEY_ENV } },
        workloads: [{ name: "w", num_requests: 6, qps: "inf", prompt_len: 12, gen_tokens: 5 }],
      });

    it("sends it on the probe, /tokenize and every request, and never stores it", async () => {
      const refusedBefore = proxy.refused;
      const out = join(dir, "ok");
      const result = await runBenchmark({
        config: config(),
        runtimes: new RuntimeRegistry([openaiRuntime()]),
        outDir: out,
        secrets: vars({ [KEY_ENV]: KEY }),
      });
      expect(proxy.refused).toBe(refusedBefore);
      expect(result.targets[0]).toMatchObject({ runtime: "openai", mode: "attached" });
      expect(result.calibration.source).toBe("server-tokenize");
      const m = result.results[0]!.metrics;
      expect(m.counts.ok).toBe(6);
      expect(readFileSync(join(out, "result.json"), "utf8")).not.toContain(KEY);
      expect(readFileSync(join(out, "result.json"), "utf8")).toContain(KEY_ENV);
    });

    it("fails before sending anything when the variable is not set", async () => {
      const requestsBefore = await sim.requests();
      await expect(
        runBenchmark({
          config: config(),
          runtimes: new RuntimeRegistry([openaiRuntime()]),
          outDir: join(dir, "no"),
          secrets: vars({}),
        }),
      ).rejects.toThrow(new RegExp(`${KEY_ENV}.*targets\\.openai\\.api_key_env`));
      expect(await sim.requests()).toBe(requestsBefore);
    });
  });
});
