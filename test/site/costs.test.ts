/**
 * Costs that state their load: each published entry records the load it was measured at, a sweep
 * publishes its capacity point (the highest rate meeting the SLOs, else its saturating stage) with
 * its curve, the headline prefers capacity points over a newer low-load run, and a cost profile
 * for other hardware is refused (nothing written) unless forced, when the page says so. Also the
 * `tokenforge publish` command's exit codes and messages for the same.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { costPer1M } from "../../src/bench/cost.js";
import { costProfile } from "../../src/bench/cost-profile.js";
import type { BenchResult } from "../../src/bench/run.js";
import { headline, type SiteData } from "../../src/site/data.js";
import { hardwareMismatch } from "../../src/site/hardware.js";
import { publish } from "../../src/site/publish.js";
import { runCli } from "../helpers/cli.js";
import { lowLoad, metrics, result, row, sweepRun, workload } from "./site-fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "tokenforge-site-costs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(r: BenchResult): string {
  const d = join(dir, "results", r.id);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, "result.json"), JSON.stringify(r));
  return d;
}

const read = (out: string) =>
  JSON.parse(readFileSync(join(out, "benchmark-results.json"), "utf8")) as SiteData;

const hourly = (h: number, hardware?: object) => ({
  ...costProfile({ dollars_per_hour: h, ...(hardware ? { hardware } : {}) } as never),
  source: "p.yaml",
});

describe("costs that state their load", () => {
  it("marks a fixed-rate run as below capacity, and says so on the page", () => {
    const out = join(dir, "low");
    publish({
      results: [write(lowLoad("low1", "2026-11-01T00:00:00Z"))],
      outDir: out,
      history: 5,
      cost: hourly(3.6),
    });
    const e = read(out).entries[0]!;
    expect(e.load).toMatchObject({ kind: "rate", offeredRps: 2, point: "partial" });
    expect(e.load!.note).toMatch(/not a capacity point/);
    // $3.6/h over 20 tok/s: $50 per 1M output tokens, the price of a mostly idle server.
    expect(e.cost!.per1MOutput).toBeCloseTo(50, 9);
    const html = readFileSync(join(out, "index.html"), "utf8");
    expect(html).toContain("below capacity");
    expect(html).toContain("$50.00*");
  });

  it("publishes a sweep at its capacity point, with its curve, and the headline prefers it", () => {
    const out = join(dir, "sweep");
    publish({
      results: [
        write(sweepRun("sw1", "2026-11-02T00:00:00Z")),
        write(lowLoad("low2", "2026-11-03T00:00:00Z")),
      ],
      outDir: out,
      history: 5,
      cost: hourly(3.6),
    });
    const s = read(out);
    const sw = s.entries.find((e) => e.runId === "sw1")!;
    expect(sw.workload).toBe("sw");
    expect(sw.load).toMatchObject({ kind: "rate", offeredRps: 8, achievedRps: 8, point: "slo-capacity" });
    expect(sw.decodeTokensPerS).toBe(400);
    expect(sw.cost!.per1MOutput).toBeCloseTo(costPer1M(3.6, 400)!, 12);
    expect(sw.curve!.map((c) => c.label)).toEqual([
      "sw/synchronous",
      "sw/throughput",
      "sw/4.00rps",
      "sw/8.00rps",
    ]);
    // The sweep's stages are not published as entries of their own.
    expect(s.entries.filter((e) => e.runId === "sw1")).toHaveLength(1);
    // The newer low-load run does not displace the capacity point in the headline.
    expect(headline(s).map((e) => e.runId)).toEqual(["sw1"]);
    const html = readFileSync(join(out, "index.html"), "utf8");
    expect(html).toContain('id="chart-throughput-latency"');
    expect(html).toContain('id="chart-cost"');
    expect(html).toContain("capacity (SLO)");
  });

  it("prices a sweep with no rate meeting the SLOs at its saturating stage", () => {
    const r = sweepRun("sw2", "2026-11-04T00:00:00Z");
    delete r.sweeps[0]!.maxRateMeetingSlo;
    const out = join(dir, "sat");
    publish({ results: [write(r)], outDir: out, history: 5 });
    const e = read(out).entries[0]!;
    expect(e.load).toMatchObject({ kind: "burst", point: "saturation" });
    expect(e.decodeTokensPerS).toBe(500);
  });

  it("calls a closed loop saturated only when the server kept requests waiting", () => {
    const closed = (id: string, waitingMax: number) =>
      result(id, "2026-11-05T00:00:00Z", {
        workloads: [workload({ name: "cl", concurrency: 8 })],
        results: [
          row("cl", metrics(5, 100, 40), {
            serverMetrics: {
              series: { waiting: { kind: "gauge", name: "w", samples: 5, min: 0, mean: 1, max: waitingMax } },
            },
          }),
        ],
      });
    const out = join(dir, "closed");
    publish({ results: [write(closed("cl1", 3)), write(closed("cl2", 0))], outDir: out, history: 5 });
    const byRun = new Map(read(out).entries.map((e) => [e.runId, e.load!]));
    expect(byRun.get("cl1")).toMatchObject({ kind: "closed", concurrency: 8, point: "saturation" });
    expect(byRun.get("cl2")).toMatchObject({ kind: "closed", point: "partial" });
  });
});

describe("a cost profile for other hardware", () => {
  const h100 = { gpu: "H100", gpus: 1 };

  it("says why a machine does not match, and nothing when it does", () => {
    const cpu = { cpuModel: "AMD EPYC 7B13", cpuCount: 2, gpus: [] };
    expect(hardwareMismatch(h100, cpu)).toBe(
      "the profile prices H100 GPUs and the profile prices 1 GPU; the run was measured on 2 × AMD EPYC 7B13 with no GPU",
    );
    expect(hardwareMismatch(h100, { ...cpu, gpus: ["NVIDIA H100 80GB HBM3"] })).toBeUndefined();
    expect(hardwareMismatch({ gpus: 0 }, cpu)).toBeUndefined();
    expect(hardwareMismatch({ cpu: "Xeon" }, cpu)).toMatch(/prices a Xeon CPU/);
    expect(hardwareMismatch(undefined, cpu)).toBeUndefined();
  });

  it("refuses to publish, writing nothing, unless forced; forced, the page says so", () => {
    const out = join(dir, "mismatch");
    const runs = [write(sweepRun("cpu1", "2026-11-06T00:00:00Z"))];
    expect(() => publish({ results: runs, outDir: out, history: 5, cost: hourly(2.99, h100) })).toThrow(
      /does not price the machine this run was measured on: cpu1: the profile prices H100 GPUs.*--force/,
    );
    expect(existsSync(out)).toBe(false);
    publish({ results: runs, outDir: out, history: 5, cost: hourly(2.99, h100), force: true });
    const e = read(out).entries[0]!;
    expect(e.costMismatch).toMatch(/measured on 2 × AMD EPYC 7B13 with no GPU/);
    const html = readFileSync(join(out, "index.html"), "utf8");
    expect(html).toContain("a profile for other hardware (published with --force)");
    expect(html).toContain("⚠");
  });

  it("publishes a GPU run priced for that GPU without complaint", () => {
    const out = join(dir, "gpu");
    publish({
      results: [write(sweepRun("gpu1", "2026-11-07T00:00:00Z", ["NVIDIA H100 80GB HBM3"]))],
      outDir: out,
      history: 5,
      cost: hourly(2.99, h100),
    });
    const e = read(out).entries[0]!;
    expect(e.costMismatch).toBeUndefined();
    expect(e.hardware).toContain("1 × NVIDIA H100 80GB HBM3");
  });

  it("tokenforge publish exits 2 with the reason, and 0 with --force", async () => {
    const run = write(sweepRun("cli1", "2026-11-08T00:00:00Z"));
    const out = join(dir, "cli-site");
    const profile = "configs/cost-profiles/h100-cloud.yaml";
    const refused = await runCli(["publish", run, "--out", out, "--cost", profile]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/h100-cloud\.yaml does not price the machine this run was measured on/);
    expect(existsSync(out)).toBe(false);
    const forced = await runCli(["publish", run, "--out", out, "--cost", profile, "--force"]);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/priced with a profile for other hardware/);
    expect(read(out).entries[0]!.costMismatch).toBeDefined();
  }, 60_000);
});
