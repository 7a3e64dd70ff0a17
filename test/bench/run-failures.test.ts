/**
 * How a run ends when its requests fail: the first-request check stops a run before its schedule
 * with the server's own message (exit 2 when the config is at fault, 1 otherwise, nothing
 * written); a run whose errors break a workload's `max_error_fraction` (or that had every request
 * fail) is written with status `failed`, exits 1 and prints its most frequent errors; through
 * the gateway such a run ends `failed` with the reason. Against the simulated engine and a
 * faulty server, through the real CLI entry.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { configFromObject } from "../../src/bench/config.js";
import { type BenchResult, runBenchmark } from "../../src/bench/run.js";
import type { RequestTrace } from "../../src/bench/types.js";
import { TokenForgeError } from "../../src/errors.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import { runCli } from "../helpers/cli.js";
import { type Fault, type FaultyServer, startFaultyServer } from "../helpers/faulty-server.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { type SimChild, startSimChild } from "../helpers/sim.js";
import { waitFor } from "../helpers/wait-for.js";

const dir = mkdtempSync(join(tmpdir(), "tokenforge-run-failures-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const servers: FaultyServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
async function serve(fault: (n: number) => Fault): Promise<FaultyServer> {
  const s = await startFaultyServer({ fault });
  servers.push(s);
  return s;
}

/** Runs the real CLI, its results under this test's directory. */
const cli = (args: string[]) => runCli(args, { TOKENFORGE_RESULTS_DIR: join(dir, "results") });

/** A config with one workload (10 requests, one at a time) on runtime `a` attached at `url`. */
function config(model: string, url: string, workload: Record<string, unknown> = {}) {
  const w = { name: "w", concurrency: 1, num_requests: 10, prompt_len: 8, gen_tokens: 4, ...workload };
  return { model, runtimes: ["a"], targets: { a: url }, workloads: [w] };
}

/** `tokenforge bench` on `config(...)` written as `<name>.json`, results in `<dir>/<name>`. */
function bench(name: string, raw: ReturnType<typeof config>, flag = "--quiet") {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(raw));
  return cli(["bench", path, "--out", join(dir, name), flag]);
}

const traces = (out: string): RequestTrace[] =>
  readFileSync(join(out, "requests.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as RequestTrace);

describe("the first-request check", () => {
  let sim: SimChild;
  beforeAll(async () => {
    sim = await startSimChild({ noGroundTruth: true });
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it("stops a run with a wrong model name on the simulated engine, with the server's message", async () => {
    const before = await sim.requests();
    const out = join(dir, "wrong-model");
    const run = runBenchmark({
      config: configFromObject({
        model: "no-such-model",
        runtimes: ["sim"],
        targets: { sim: sim.url },
        workloads: [{ name: "w", qps: 50, num_requests: 20, prompt_len: 8, gen_tokens: 4 }],
      }),
      runtimes: new RuntimeRegistry([]),
      outDir: out,
    });
    const err = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TokenForgeError);
    expect((err as TokenForgeError).code).toBe("invalid_request");
    expect((err as TokenForgeError).field).toBe("model");
    expect((err as Error).message).toContain("first request to runtime sim");
    expect((err as Error).message).toContain("HTTP 404: The model `no-such-model` does not exist.");
    // One request reached the server: the check. No schedule, no files.
    expect((await sim.requests()) - before).toBe(1);
    expect(existsSync(out)).toBe(false);
  });

  it("exits 2 from the CLI for a wrong model, printing the server's message, writing nothing", async () => {
    const out = join(dir, "wrong-model-cli");
    const r = await bench("wrong-model-cli", config("no-such-model", sim.url));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("The model `no-such-model` does not exist.");
    expect(r.stdout).toBe("");
    expect(existsSync(out)).toBe(false);
  });

  it("exits 1 when the check meets a server error or a broken stream, naming the reason", async () => {
    const down = await serve(() => ({ kind: "status", status: 503, message: "engine is restarting" }));
    const r1 = await bench("down", config("faulty", down.url));
    expect(r1.code).toBe(1);
    expect(r1.stderr).toContain("HTTP 503: engine is restarting");
    expect(down.received.map((x) => x.id)).toEqual(["w-a-check"]);
    expect(existsSync(join(dir, "down"))).toBe(false);

    const broken = await serve(() => ({ kind: "invalid-json", atChunk: 2 }));
    const r2 = await bench("broken", config("faulty", broken.url));
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(
      /first request to runtime a .* failed, so no request of the schedule was sent: invalid JSON in chunk 2: /,
    );
    expect(broken.received).toHaveLength(1);
  });

  it("is recorded in the result, and sets the workload's stall timeout from its time", async () => {
    const s = await serve(() => ({ kind: "ok" }));
    const result = await runBenchmark({
      config: configFromObject(config("faulty", s.url)),
      runtimes: new RuntimeRegistry([]),
      outDir: join(dir, "ok"),
    });
    expect(result.status).toBe("complete");
    expect(result.checks).toEqual([
      expect.objectContaining({ runtime: "a", url: s.url, workload: "w", outcome: "ok", status: 200 }),
    ]);
    expect(result.checks![0]!.e2eMs).toBeGreaterThan(0);
    // Not counted: 10 measured requests in the metrics and the trace file, 11 at the server.
    expect(result.results[0]!.metrics.counts.total).toBe(10);
    expect(traces(join(dir, "ok"))).toHaveLength(10);
    expect(s.received).toHaveLength(11);
    expect(s.received[0]!.id).toBe("w-a-check");
    // A fast check on a local server: the 30 s floor.
    expect(result.results[0]!.run.stallTimeoutMs).toBe(30_000);
  });
});

describe("a run whose requests fail", () => {
  /** 500 for every request after the n-th (the check is request 1). */
  const failAfter =
    (n: number) =>
    (k: number): Fault =>
      k > n ? { kind: "status", status: 500, message: "out of KV cache" } : { kind: "ok" };

  it("fails beyond max_error_fraction: status failed, exit 1, the top reasons printed", async () => {
    const s = await serve(failAfter(4));
    const out = join(dir, "mostly-failed");
    const r = await bench("mostly-failed", config("faulty", s.url));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("run failed: w on a: 7 of 10 requests failed, over max_error_fraction 0.5");
    expect(r.stderr).toContain("  7× HTTP 500: out of KV cache");
    expect(r.stdout).toContain(`results of a failed run in ${out}`);
    const result = JSON.parse(readFileSync(join(out, "result.json"), "utf8")) as BenchResult;
    expect(result.status).toBe("failed");
    expect(result.failure?.message).toBe(
      "w on a: 7 of 10 requests failed, over max_error_fraction 0.5; most frequent: 7× HTTP 500: out of KV cache",
    );
    expect(result.failure?.breaches).toEqual([
      {
        workload: "w",
        runtime: "a",
        total: 10,
        errored: 7,
        maxErrorFraction: 0.5,
        reasons: [{ error: "HTTP 500: out of KV cache", status: 500, count: 7 }],
      },
    ]);
    const lines = traces(out);
    expect(lines.filter((t) => t.outcome === "error")).toHaveLength(7);
    expect(lines.filter((t) => t.outcome === "ok")).toHaveLength(3);
  });

  it("stands within max_error_fraction, and fails when every request failed whatever the fraction", async () => {
    const within = await serve(failAfter(4));
    const ok = await runBenchmark({
      // The top level's limit applies to every workload.
      config: configFromObject({ ...config("faulty", within.url), max_error_fraction: 0.8 }),
      runtimes: new RuntimeRegistry([]),
      outDir: join(dir, "within"),
    });
    expect(ok.status).toBe("complete");
    expect(ok.failure).toBeUndefined();
    expect(ok.results[0]!.metrics.counts.errored).toBe(7);

    const all = await serve(failAfter(1));
    const r = await bench("all-failed", config("faulty", all.url, { max_error_fraction: 1 }), "--json");
    expect(r.code).toBe(1);
    const result = JSON.parse(r.stdout) as BenchResult;
    expect(result.status).toBe("failed");
    expect(result.failure?.message).toMatch(/^w on a: 10 of 10 requests failed; most frequent: 10× HTTP 500/);
    expect(r.stderr).toContain(
      "run failed: w on a: 10 of 10 requests failed\n  10× HTTP 500: out of KV cache",
    );
  });

  describe("through the gateway", () => {
    let gw: TestGateway;
    beforeAll(async () => {
      // The failing servers listen on loopback, which a run over the API reaches only when allowed.
      gw = await startTestGateway({ name: "run-failures", allowTargets: "127.0.0.1" });
    });
    afterAll(async () => {
      await gw?.close();
    });

    async function runOnGateway(body: unknown) {
      const res = await gw.gateway.app.inject({
        method: "POST",
        url: "/benchmarks/run",
        payload: body as object,
      });
      expect(res.statusCode).toBe(202);
      const id = res.json().id as string;
      let run: { status: string; error?: string } = { status: "queued" };
      await waitFor(
        async () => {
          run = (await gw.gateway.app.inject({ method: "GET", url: `/benchmarks/${id}` })).json();
          return run.status !== "queued" && run.status !== "running";
        },
        { what: `run ${id} to end`, timeoutMs: 30_000, intervalMs: 100, detail: () => JSON.stringify(run) },
      );
      return run;
    }

    it("ends a run whose errors broke the limit failed, with the reason", async () => {
      const s = await serve(failAfter(4));
      const run = await runOnGateway(config("faulty", s.url));
      expect(run.status).toBe("failed");
      expect(run.error).toBe(
        "w on a: 7 of 10 requests failed, over max_error_fraction 0.5; most frequent: 7× HTTP 500: out of KV cache",
      );
    });

    it("ends a run whose check was refused failed, with the server's message", async () => {
      const s = await serve(() => ({ kind: "ok" }));
      const run = await runOnGateway(config("wrong", s.url));
      expect(run.status).toBe("failed");
      expect(run.error).toContain("HTTP 404: The model `wrong` does not exist.");
    });
  });
});
