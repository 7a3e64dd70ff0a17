/**
 * The real Prometheus server (Debian's `prometheus`, installed by .ci/run) scraping a live worker
 * (llama.cpp on synthetic:tiny) and the harness's live series while a benchmark runs against that
 * worker, and the gateway's own /metrics; the series are then found through Prometheus's HTTP
 * query API. The gateway also deploys a sim worker through its local backend (on a port chosen at
 * start) and Prometheus finds it only through the gateway's HTTP service discovery, labelled with
 * its deployment, model, runtime and replica. Skipped, with the reason printed, where no
 * `prometheus` binary exists.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workloadOf } from "../../src/bench/config.js";
import { BenchMetrics } from "../../src/bench/live-metrics.js";
import { runBenchmark } from "../../src/bench/run.js";
import { freePort } from "../../src/control/local/free-port.js";
import { LocalBackend } from "../../src/control/local/index.js";
import { buildGateway, type Gateway } from "../../src/gateway/app.js";
import { Deployments } from "../../src/gateway/deployments.js";
import { SD_PATH } from "../../src/gateway/routes/sd.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import { simRuntime } from "../../src/runtimes/sim/index.js";
import type { Store } from "../../src/spec/store.js";
import { FsArtifactStore } from "../../src/store/artifacts/index.js";
import { openStore } from "../../src/store/db/open.js";
import { type MetricsServer, startMetricsServer } from "../../src/telemetry/metrics-server.js";
import type { RunningWorker } from "../../src/worker/server.js";
import { SELF } from "../helpers/gateway.js";
import { waitFor } from "../helpers/wait-for.js";
import { startTestWorker } from "../helpers/worker.js";

function prometheusBinary(): string | undefined {
  const path = process.env.PROMETHEUS_PATH ?? "prometheus";
  try {
    execFileSync(path, ["--version"], { stdio: "ignore" });
    return path;
  } catch {
    return undefined;
  }
}

const binary = prometheusBinary();
if (!binary)
  console.warn(
    "skipping the Prometheus integration test: no `prometheus` binary (apt-get install prometheus)",
  );

describe.skipIf(!binary)("Prometheus scraping a worker and a running benchmark", () => {
  let dir: string;
  let worker: RunningWorker;
  let metricsServer: MetricsServer;
  let metrics: BenchMetrics;
  let prometheus: ChildProcess;
  let gateway: Gateway;
  let gatewayStore: Store;
  let gatewayUrl: string;
  let local: LocalBackend;
  let promUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tokenforge-prometheus-"));
    worker = await startTestWorker({ parallel: 4 });
    metrics = new BenchMetrics("prom-it");
    metricsServer = await startMetricsServer(metrics.registry);
    gatewayStore = await openStore({ dataDir: "memory://" });
    const runtimes = new RuntimeRegistry([simRuntime(SELF)]);
    local = new LocalBackend({ runtimes, stopGraceMs: 3000 });
    gateway = await buildGateway({
      store: gatewayStore,
      deployments: new Deployments(gatewayStore, { local }, runtimes),
      runtimes,
      artifacts: new FsArtifactStore(join(dir, "artifacts")),
      resultsDir: join(dir, "gateway-results"),
    });
    gatewayUrl = await gateway.app.listen({ host: "127.0.0.1", port: 0 });
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const hostOf = (url: string) => new URL(url).host;
    writeFileSync(
      join(dir, "prometheus.yml"),
      `global:
  scrape_interval: 1s
scrape_configs:
  - job_name: tokenforge-worker
    static_configs: [{ targets: ["${hostOf(worker.url)}"] }]
  - job_name: tokenforge-bench
    static_configs: [{ targets: ["${hostOf(metricsServer.url)}"] }]
  - job_name: tokenforge-gateway
    static_configs: [{ targets: ["${hostOf(gatewayUrl)}"] }]
  - job_name: gateway-workers
    http_sd_configs: [{ url: "${gatewayUrl}${SD_PATH}", refresh_interval: 1s }]
`,
    );
    prometheus = spawn(
      binary!,
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let log = "";
    prometheus.stderr?.on("data", (d: Buffer) => {
      log = (log + d.toString()).slice(-4000);
    });
    await waitFor(async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.status === 200, {
      what: "Prometheus to be ready",
      timeoutMs: 30_000,
      intervalMs: 250,
      detail: () => log,
    });
  }, 120_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus.once("exit", r));
      prometheus.kill("SIGTERM");
      await exited;
    }
    await metricsServer?.close();
    await gateway?.app.close();
    await gateway?.close();
    await local?.close();
    await gatewayStore?.close();
    await worker?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("finds the worker's and the harness's series through the query API", async () => {
    const result = await runBenchmark({
      config: {
        model: "synthetic:tiny",
        runtimes: ["llamacpp"],
        targets: { llamacpp: worker.url },
        workloads: [
          workloadOf({
            name: "prom",
            qps: 10,
            numRequests: 12,
            promptLen: { kind: "fixed", value: 32 },
            genTokens: { kind: "fixed", value: 8 },
          }),
        ],
        seed: 1,
      },
      runtimes: new RuntimeRegistry([]),
      outDir: join(dir, "run"),
      metrics,
    });
    const ok = result.results[0]!.metrics.counts.ok;
    expect(ok).toBe(12);

    // Both targets are up, and the counters reach what the run did (after at least one scrape).
    const scraped = (what: string) => ({ what, timeoutMs: 20_000, intervalMs: 250 });
    await waitFor(
      async () => (await query('sum(up{job=~"tokenforge-.*"})')) === 3,
      scraped("all three targets up"),
    );
    await waitFor(
      async () => ((await query('sum(tokenforge_gateway_http_requests_total{route="/metrics"})')) ?? 0) > 0,
      scraped("a scrape of the gateway counted"),
    );
    await waitFor(
      async () => (await query('sum(tokenforge_bench_requests_total{outcome="ok",run="prom-it"})')) === ok,
      scraped("the run's ok requests scraped"),
    );
    await waitFor(
      async () => ((await query("sum(tokenforge:generation_tokens_total)")) ?? 0) >= ok * 8,
      scraped("the worker's generated tokens scraped"),
    );
    expect(await query('sum(tokenforge_bench_output_tokens_total{workload="prom",runtime="llamacpp"})')).toBe(
      ok * 8,
    );
    expect(await query("sum(tokenforge_bench_time_to_first_token_seconds_count)")).toBe(ok);
    expect(
      await query('sum(tokenforge_http_requests_total{route="/v1/completions",status="200"})'),
    ).toBeGreaterThanOrEqual(ok);
  }, 120_000);

  /** The single value of an instant query, or undefined when it has no result. */
  async function query(q: string): Promise<number | undefined> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as { status: string; data: { result: { value: [number, string] }[] } };
    expect(body.status).toBe("success");
    const v = body.data.result[0]?.value[1];
    return v === undefined ? undefined : Number(v);
  }

  it("finds a gateway-deployed worker through HTTP service discovery, with its labels", async () => {
    const deployed = await fetch(`${gatewayUrl}/deploy`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "sim-sd", runtime: "sim", replicas: 2 }),
    });
    expect(deployed.status).toBe(202);
    const { id } = (await deployed.json()) as { id: string };
    let last = "";
    await waitFor(
      async () => {
        const d = (await (await fetch(`${gatewayUrl}/deployments/${id}`)).json()) as {
          status: string;
          last_error?: string;
        };
        last = JSON.stringify(d);
        if (d.status === "failed") throw new Error(`deployment failed: ${d.last_error}`);
        return d.status === "ready";
      },
      { what: "the sim deployment to be ready", timeoutMs: 60_000, intervalMs: 250, detail: () => last },
    );
    // Requests sent through the gateway land on the replicas Prometheus found by itself.
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${gatewayUrl}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "sim-sd", prompt: "a b c", max_tokens: 5, ignore_eos: true }),
      });
      expect(res.status).toBe(200);
    }
    const scraped = (what: string) => ({ what, timeoutMs: 30_000, intervalMs: 250 });
    const sel = `job="gateway-workers",deployment="${id}",model="sim-sd",runtime="sim"`;
    await waitFor(
      async () => (await query(`sum(up{${sel}})`)) === 2,
      scraped("both replicas discovered and up"),
    );
    expect(await query(`count(count by (replica) (up{${sel}}))`)).toBe(2);
    await waitFor(
      async () => (await query(`sum(sim_requests_total{${sel}})`)) === 4,
      scraped("the replicas' request counts scraped with the deployment's labels"),
    );

    // Deleted, the replicas leave the discovered targets.
    expect((await fetch(`${gatewayUrl}/deployments/${id}`, { method: "DELETE" })).status).toBe(200);
    await waitFor(async () => {
      const res = await fetch(`${promUrl}/api/v1/targets?state=active`);
      const body = (await res.json()) as { data: { activeTargets: { labels: Record<string, string> }[] } };
      return !body.data.activeTargets.some((t) => t.labels.deployment === id);
    }, scraped("the deleted deployment's targets dropped"));
  }, 120_000);
});
