/**
 * The harness's own Prometheus series while a run goes (`tokenforge bench --metrics-port`): what
 * the client saw, labelled by run, workload and runtime, so Grafana can plot a benchmark live
 * next to the servers' series. Definitions are in the catalogue (src/telemetry/catalogue.ts).
 * Observed once per finished request, never per chunk on the hot path.
 */
import { type Counter, collectDefaultMetrics, type Gauge, type Histogram, Registry } from "prom-client";
import { CATALOGUE as C } from "../telemetry/catalogue.js";
import { counter, gauge, histogram } from "../telemetry/prom.js";
import type { RequestTrace } from "./types.js";

type BenchLabel = "run" | "workload" | "runtime";

export class BenchMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<BenchLabel | "outcome">;
  private readonly ttft: Histogram<BenchLabel>;
  private readonly itl: Histogram<BenchLabel>;
  private readonly e2e: Histogram<BenchLabel>;
  private readonly lag: Histogram<BenchLabel>;
  private readonly promptTokens: Counter<BenchLabel>;
  private readonly outputTokens: Counter<BenchLabel>;
  private readonly inFlight: Gauge<BenchLabel>;

  constructor(private readonly run: string) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: "tokenforge_bench_" });
    this.requests = counter(C.benchRequests, r);
    this.ttft = histogram(C.benchTtft, r);
    this.itl = histogram(C.benchItl, r);
    this.e2e = histogram(C.benchE2e, r);
    this.lag = histogram(C.benchClientLag, r);
    this.promptTokens = counter(C.benchPromptTokens, r);
    this.outputTokens = counter(C.benchOutputTokens, r);
    this.inFlight = gauge(C.benchInFlight, r);
  }

  /** Records one finished request (warmup requests are not counted). */
  observe(workload: string, runtime: string, t: RequestTrace): void {
    if (t.warmup) return;
    const labels = { run: this.run, workload, runtime };
    this.requests.inc({ ...labels, outcome: t.outcome });
    this.lag.observe(labels, Math.max(0, t.sendMs - t.scheduledMs) / 1000);
    if (t.outcome !== "ok") return;
    const first = t.chunkMs[0];
    if (first !== undefined) this.ttft.observe(labels, (first - t.sendMs) / 1000);
    for (let i = 1; i < t.chunkMs.length; i++)
      this.itl.observe(labels, (t.chunkMs[i]! - t.chunkMs[i - 1]!) / 1000);
    if (t.endMs !== undefined) this.e2e.observe(labels, (t.endMs - t.sendMs) / 1000);
    if (t.usage) {
      this.promptTokens.inc(labels, t.usage.promptTokens);
      this.outputTokens.inc(labels, t.usage.completionTokens);
    }
  }

  /** Requests in flight, from the runner's progress (once a second). */
  setInFlight(workload: string, runtime: string, n: number): void {
    this.inFlight.set({ run: this.run, workload, runtime }, n);
  }
}
