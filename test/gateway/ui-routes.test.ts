/**
 * The UI's routes through inject(), on real parts (PGlite, local sim workers, artifacts in a
 * directory): the page and its Content-Security-Policy, the bundled client script inlined in it (and
 * the error that names the build when the bundle is missing), the redirect from /, the YAML reader
 * the page's raw-config form uses, and GET /benchmarks/compare over two real runs.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Script } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/gateway/app.js";
import { readUiScript } from "../../src/gateway/ui/page.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

const ROOT = join(import.meta.dirname, "..", "..");
let t: TestGateway;
let gateway: Gateway;

beforeAll(async () => {
  // A run that fails before any result needs a target nobody listens on, allowed on purpose.
  t = await startTestGateway({ name: "ui-routes", allowTargets: "127.0.0.1" });
  gateway = t.gateway;
}, 60_000);

afterAll(async () => {
  await t?.close();
});

const inject = (method: "GET" | "POST" | "DELETE", url: string, payload?: unknown) =>
  gateway.app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });

describe("the UI page", () => {
  it("is one HTML page whose script and style carry the nonce of its Content-Security-Policy", async () => {
    const res = await inject("GET", "/ui");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.headers["cache-control"]).toBe("no-store");
    const csp = String(res.headers["content-security-policy"]);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeDefined();
    expect(csp).toContain(`style-src 'nonce-${nonce}'`);

    const html = res.body;
    const tags = [...html.matchAll(/<(script|style)\b([^>]*)>/g)];
    expect(tags.map((t) => t[1]).sort()).toEqual(["script", "style"]);
    for (const t of tags) expect(t[2]).toBe(` nonce="${nonce}"`);
    // Nothing from elsewhere: no absolute or protocol-relative URL, every src/href local.
    expect(html).not.toMatch(/https?:|\/\/[a-z0-9]/i);
    for (const m of html.matchAll(/\b(?:src|href)="([^"]*)"/g)) expect(m[1]).toMatch(/^(#|\/[a-z]|data:,)/);
    // No inline handlers or style attributes, which the policy would block.
    expect(html).not.toMatch(/\son[a-z]+=|\sstyle=/);
    // The script is the client as the build bundled it: one classic script (no import or export),
    // valid JavaScript (the browser test runs it).
    const script = /<script[^>]*>([\s\S]*)<\/script>/.exec(html)![1]!;
    expect(script).toBe(readFileSync(join(ROOT, "dist", "gateway", "ui", "client.js"), "utf8"));
    expect(() => new Script(script)).not.toThrow();
    expect(script).not.toContain("innerHTML");

    const again = await inject("GET", "/ui/");
    expect(again.statusCode).toBe(200);
    expect(again.headers["content-security-policy"]).not.toBe(csp);
  });

  it("names the build command when the bundled script is missing", async () => {
    const missing = new URL("./no-such-client.js", import.meta.url);
    await expect(readUiScript(missing)).rejects.toMatchObject({
      code: "io_error",
      message: expect.stringContaining("run npm run build"),
    });
  });

  it("is where / leads, and is left out of the OpenAPI document", async () => {
    const res = await inject("GET", "/");
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe("/ui");
    const paths = Object.keys((await inject("GET", "/openapi.json")).json().paths);
    expect(paths).toContain("/benchmarks/compare");
    expect(paths.filter((p) => p === "/" || p.startsWith("/ui"))).toEqual([]);
  });

  it("reads a pasted YAML or JSON config, and names every syntax problem", async () => {
    const text = "model: m\nruntimes: [sim]\nworkloads:\n  - name: w\n    qps: 5\n";
    const ok = await gateway.app.inject({
      method: "POST",
      url: "/ui/config",
      headers: { "content-type": "text/plain" },
      payload: text,
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ model: "m", runtimes: ["sim"], workloads: [{ name: "w", qps: 5 }] });
    const json = await gateway.app.inject({
      method: "POST",
      url: "/ui/config",
      headers: { "content-type": "text/plain" },
      payload: '{"model": "m", "runtimes": ["sim"]}',
    });
    expect(json.json()).toEqual({ model: "m", runtimes: ["sim"] });
    const bad = await gateway.app.inject({
      method: "POST",
      url: "/ui/config",
      headers: { "content-type": "text/plain" },
      payload: "model: [m\nruntimes: {sim",
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: "invalid_request", field: "config" });
    expect(bad.json().error.message).toMatch(/not valid YAML or JSON \(\d+ problems?\)/);
    const list = await gateway.app.inject({
      method: "POST",
      url: "/ui/config",
      headers: { "content-type": "text/plain" },
      payload: "- a\n- b\n",
    });
    expect(list.statusCode).toBe(400);
  });
});

async function untilReady(id: string) {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const d = (await inject("GET", `/deployments/${id}`)).json();
    if (d.status === "ready") return d;
    if (d.status === "failed" || performance.now() > deadline)
      throw new Error(`not ready: ${JSON.stringify(d)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function finished(id: string) {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const run = (await inject("GET", `/benchmarks/${id}`)).json();
    if (run.status !== "queued" && run.status !== "running") return run;
    if (performance.now() > deadline) throw new Error(`run not done: ${JSON.stringify(run)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function simRun(model: string, extra: Record<string, unknown> = {}) {
  const res = await inject("POST", "/benchmarks/run", {
    model,
    runtimes: ["sim"],
    workloads: [{ name: "cmp", qps: 50, num_requests: 20, prompt_len: 16, gen_tokens: 4 }],
    ...extra,
  });
  expect(res.statusCode).toBe(202);
  return finished(res.json().id);
}

describe("GET /benchmarks/compare", () => {
  let a: { id: string; status: string };
  let b: { id: string; status: string };

  beforeAll(async () => {
    // One deployment serves both runs, so they differ only by chance.
    const dep = (await inject("POST", "/deploy", { model: "sim-cmp", runtime: "sim" })).json();
    await untilReady(dep.id);
    a = await simRun("sim-cmp");
    b = await simRun("sim-cmp");
    await inject("DELETE", `/deployments/${dep.id}`);
  }, 90_000);

  it("compares two runs metric by metric with change, noise and verdict", async () => {
    expect([a.status, b.status], JSON.stringify([a, b]).slice(0, 2000)).toEqual(["complete", "complete"]);
    const res = await inject("GET", `/benchmarks/compare?a=${a.id}&b=${b.id}`);
    expect(res.statusCode).toBe(200);
    const c = res.json();
    expect(c.a).toMatchObject({ id: a.id, model: "sim-cmp", runtimes: ["sim"], status: "complete" });
    expect(c.b.id).toBe(b.id);
    expect(c.thresholdPct).toBe(5);
    expect(c.onlyInA).toEqual([]);
    expect(c.onlyInB).toEqual([]);
    expect(c.pairs).toHaveLength(1);
    expect(c.pairs[0]).toMatchObject({ workload: "cmp", runtime: "sim" });
    const byKey = Object.fromEntries(c.pairs[0].metrics.map((m: { key: string }) => [m.key, m]));
    for (const key of [
      "ttft_p50",
      "ttft_p99",
      "tpot_p50",
      "tpot_p99",
      "request_throughput",
      "output_throughput",
    ]) {
      expect(byKey[key].a, key).toBeGreaterThan(0);
      expect(byKey[key].b, key).toBeGreaterThan(0);
      expect(byKey[key].noise, key).toBeGreaterThan(0);
      expect(typeof byKey[key].changePct, key).toBe("number");
      expect(["better", "worse", "within noise", "within threshold"]).toContain(byKey[key].verdict);
    }
    // No SLO configured: goodput is missing on both sides, never zero.
    expect(byKey.goodput).toMatchObject({ verdict: "missing" });
    expect(byKey.goodput.a).toBeUndefined();
    const worse = c.pairs[0].metrics.filter((m: { verdict: string }) => m.verdict === "worse").length;
    expect(c.regressions).toBe(worse);

    const strict = (
      await inject("GET", `/benchmarks/compare?a=${a.id}&b=${b.id}&threshold=0.5&noise_floor=0`)
    ).json();
    expect(strict).toMatchObject({ thresholdPct: 0.5, noiseFloorPct: 0 });
  });

  it("finds a run no different from itself", async () => {
    const c = (await inject("GET", `/benchmarks/compare?a=${a.id}&b=${a.id}`)).json();
    expect(c.regressions).toBe(0);
    expect(c.improvements).toBe(0);
    for (const m of c.pairs[0].metrics) {
      expect(["within noise", "missing"]).toContain(m.verdict);
    }
  });

  it("answers 404 for an unknown run, naming which", async () => {
    const res = await inject("GET", `/benchmarks/compare?a=run-nope&b=${b.id}`);
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatchObject({ code: "not_found", field: "a" });
    const other = await inject("GET", `/benchmarks/compare?a=${a.id}&b=run-nope`);
    expect(other.statusCode).toBe(404);
    expect(other.json().error.field).toBe("b");
  });

  it("answers 400 for a run without results and for a bad query", async () => {
    // A target nobody listens on: the run fails before any result.
    const failed = await simRun("sim-nowhere", { targets: { sim: "http://127.0.0.1:9" } });
    expect(failed.status).toBe("failed");
    expect(failed.results).toEqual([]);
    const res = await inject("GET", `/benchmarks/compare?a=${a.id}&b=${failed.id}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: "invalid_request", field: "b" });
    expect(res.json().error.message).toContain("no results");

    expect((await inject("GET", `/benchmarks/compare?a=${a.id}`)).statusCode).toBe(400);
    const bad = await inject("GET", `/benchmarks/compare?a=${a.id}&b=${b.id}&threshold=five`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe("threshold");
    expect((await inject("GET", `/benchmarks/compare?a=${a.id}&b=${b.id}&colour=red`)).statusCode).toBe(400);
  });
});
