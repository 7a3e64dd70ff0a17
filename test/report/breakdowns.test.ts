/**
 * The report's tables for a ramp's steps and sessions' turns, and the line on a search's capacity
 * point, from a real run against the simulated server.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workloadOf } from "../../src/bench/config.js";
import { runBenchmark } from "../../src/bench/run.js";
import { chartLibrary } from "../../src/report/assets.js";
import { loadReportData } from "../../src/report/data.js";
import { renderReport } from "../../src/report/html.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import { type SimChild, startSimChild } from "../helpers/sim.js";

let sim: SimChild;
let dir: string;
beforeAll(async () => {
  sim = await startSimChild({ ttftMs: 5, itlMs: 1, noGroundTruth: true });
  dir = mkdtempSync(join(tmpdir(), "tokenforge-breakdowns-"));
});
afterAll(async () => {
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const shape = { promptLen: { kind: "fixed", value: 6 }, genTokens: { kind: "fixed", value: 3 } } as const;

describe("report breakdowns", () => {
  it("shows ramp steps, session turns and the capacity point", async () => {
    const out = join(dir, "run");
    await runBenchmark({
      config: {
        model: "sim",
        runtimes: ["sim"],
        targets: { sim: sim.url },
        seed: 2,
        workloads: [
          workloadOf({
            name: "ramp",
            ...shape,
            arrival: { kind: "constant" },
            ramp: { of: "qps", from: 4, to: 12, durationS: 2, shape: "linear", steps: 2 },
          }),
          workloadOf({
            name: "chat",
            ...shape,
            qps: 20,
            sessions: { turns: { kind: "fixed", value: 2 }, systemPrompt: 4, count: 3 },
          }),
          workloadOf({
            name: "cap",
            ...shape,
            numRequests: 10,
            slo: { e2eMs: 10_000 },
            sweep: {
              search: {
                attainment: 0.9,
                confidence: 0.95,
                tolerance: 0.1,
                maxPoints: 3,
                startQps: 5,
                maxQps: 10,
              },
            },
          }),
        ],
      },
      runtimes: new RuntimeRegistry([]),
      outDir: out,
      serverMetrics: false,
    });
    const data = loadReportData(join(out, "result.json"));
    const ramp = data.workloads.find((w) => w.name === "ramp")!.breakdowns!;
    // Linear 4 → 12 req/s over 2 s in two windows: Λ(1) = 6, Λ(2) = 16, so 6 then 10 requests.
    expect(ramp[0]!.kind).toBe("ramp steps");
    expect(ramp[0]!.rows.map((r) => [r.offeredQps, r.total])).toEqual([
      [6, 6],
      [10, 10],
    ]);
    const turns = data.workloads.find((w) => w.name === "chat")!.breakdowns!;
    expect(turns[0]!.kind).toBe("turns");
    // Turn 1: system 4 + user 6 = 10 tokens; turn 2: + reply 3 + user 6 = 19.
    expect(turns[0]!.rows.map((r) => [r.label, r.ok, r.inputTokensMean])).toEqual([
      ["turn 1", 3, 10],
      ["turn 2", 3, 19],
    ]);
    expect(turns[0]!.note).toBe("3 sessions started, 3 completed, 0 broken, 6 turns sent");
    const sweep = data.sweeps.find((s) => s.workload === "cap")!;
    expect(sweep.capacityText).toMatch(/^capacity 10\.00 req\/s \(95 % interval \?–\? req\/s; 100\.0 % met/);
    // 5 req/s passes, doubling is capped at 10, which passes too: two rates, ended at max_qps.
    expect(sweep.capacityText).toContain("2 rates measured, search max-qps");

    const html = renderReport(data, chartLibrary());
    expect(html).toContain("sim: ramp steps</h4>");
    expect(html).toContain("sim: turns</h4>");
    expect(html).toContain('<td class="name">turn 2</td>');
    expect(html).toContain("capacity 10.00 req/s");
  }, 60_000);
});
