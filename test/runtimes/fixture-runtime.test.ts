/**
 * A new runtime is one folder plus one registry line: the `echo` fixture (test/fixtures/runtimes/
 * echo, nothing else) is deployed by the local backend, planned as a Kubernetes container, waited
 * for through its own health contract, refused its owned flags, and benchmarked with its own
 * native series, without any other file naming it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { configFromObject } from "../../src/bench/config.js";
import { runBenchmark } from "../../src/bench/run.js";
import { containerPlan } from "../../src/control/kubernetes/containers.js";
import { deploymentManifest } from "../../src/control/kubernetes/manifests.js";
import { LocalBackend } from "../../src/control/local/index.js";
import { waitForDeployment } from "../../src/control/wait.js";
import { isTokenForgeError } from "../../src/errors.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import type { DeploymentSpec } from "../../src/spec/deployment.js";
import { echoRuntime } from "../fixtures/runtimes/echo/index.js";

const registry = new RuntimeRegistry([echoRuntime()]);
const dir = mkdtempSync(join(tmpdir(), "tokenforge-echo-"));
const backend = new LocalBackend({ runtimes: registry, healthIntervalMs: 50 });

afterAll(async () => {
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
});

const spec = (over: Partial<DeploymentSpec>): DeploymentSpec => ({
  id: "echo-1",
  model: "echo-model",
  runtime: "echo",
  replicas: 1,
  resources: {},
  target: "local",
  engineArgs: [],
  ...over,
});

describe("a runtime added as one folder", () => {
  it("deploys locally, ready through its own health path, with its setting warnings typed", async () => {
    await backend.create(spec({ id: "echo-ready", quant: "q4_0" }));
    const status = await waitForDeployment(() => backend.get("echo-ready"), {
      what: "echo",
      timeoutMs: 20_000,
    });
    expect(status.state).toBe("ready");
    expect(status.endpoints).toHaveLength(1);
    expect(status.warnings).toEqual([
      {
        kind: "unsupported-setting",
        field: "quant",
        message: 'quant "q4_0" not applied: echo has no quantizations',
      },
    ]);
  });

  it("fails at once with the engine's own reason when its load fails (no 10-minute wait)", async () => {
    const t0 = performance.now();
    await backend.create(spec({ id: "echo-broken", model: "broken" }));
    const err = await waitForDeployment(() => backend.get("echo-broken"), {
      what: "echo",
      timeoutMs: 60_000,
    }).catch((e: unknown) => e);
    expect(performance.now() - t0).toBeLessThan(30_000);
    expect((err as Error).message).toContain("echo cannot load a model called broken");
    const replica = (await backend.get("echo-broken"))!.replicas[0]!;
    expect(replica.failure?.kind).toBe("load-failed");
    expect(replica.restarts).toBe(0);
  });

  it("refuses the flags the backend owns, naming the field, and starts nothing", async () => {
    const err = await backend
      .create(spec({ id: "echo-port", engineArgs: ["--port", "1"] }))
      .catch((e: unknown) => e);
    expect(isTokenForgeError(err) && err.field).toBe("engine_args");
    expect(await backend.get("echo-port")).toBeUndefined();
  });

  it("is planned as a Kubernetes container whose probes use its health path", () => {
    const s = spec({ target: "kubernetes" });
    const plan = containerPlan(s, registry, { version: "0.0.0" });
    expect(plan.image).toBe("example.org/echo:1");
    expect(plan.args).toEqual(["--model", "echo-model", "--host", "0.0.0.0", "--port", "8000"]);
    const container = deploymentManifest(s, plan, { namespace: "ns" }).spec!.template.spec!.containers[0]!;
    expect(container.readinessProbe?.httpGet?.path).toBe("/healthz");
    expect(
      containerPlan(s, registry, { version: "0.0.0", images: { echo: "registry.local/echo:2" } }).image,
    ).toBe("registry.local/echo:2");
  });

  it("is benchmarked by the harness, started through the local backend, its native series sampled", async () => {
    const result = await runBenchmark({
      config: configFromObject({
        model: "echo-model",
        runtimes: ["echo"],
        workloads: [{ name: "w", num_requests: 8, qps: "inf", prompt_len: 8, gen_tokens: 6 }],
      }),
      runtimes: registry,
      outDir: join(dir, "run"),
      serverMetrics: { intervalMs: 20 },
      workerArgs: ["--load-ms", "50"],
    });
    expect(result.status).toBe("complete");
    expect(result.targets[0]).toMatchObject({ runtime: "echo", mode: "local" });
    const r = result.results[0]!;
    expect(r.metrics.counts.ok).toBe(8);
    expect(r.serverMetrics?.found.running).toBe("echo_requests_running");
    expect(r.serverMetrics?.generation).toBe("echo");
  });

  it("fails a run at once, with the engine's reason, when the worker it starts cannot load", async () => {
    const t0 = performance.now();
    const run = runBenchmark({
      config: configFromObject({
        model: "broken",
        runtimes: ["echo"],
        workloads: [{ name: "w", num_requests: 2, qps: "inf", prompt_len: 8, gen_tokens: 2 }],
      }),
      runtimes: registry,
      outDir: join(dir, "broken"),
    });
    await expect(run).rejects.toThrow(/echo cannot load a model called broken/);
    expect(performance.now() - t0).toBeLessThan(30_000);
  });
});
