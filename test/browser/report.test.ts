/**
 * The HTML report of a real run (two runtimes on the simulated server, a steady workload with
 * some failures and a sweep), opened in headless Chromium: it loads with no console error and no
 * request beyond its own file, every chart draws, every legend item's colour box and text stand
 * apart (bounding boxes, wide and narrow), the summary lists every workload × runtime, and a
 * screenshot is kept in test-artifacts/report.png.
 *
 * Chromium is Debian's (`.ci/run` installs it); `CHROMIUM_PATH` overrides /usr/bin/chromium.
 * Without it the test is skipped, saying why.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workloadOf } from "../../src/bench/config.js";
import { type BenchResult, runBenchmark } from "../../src/bench/run.js";
import { writeReport } from "../../src/report/write.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import { type SimChild, startSimChild } from "../helpers/sim.js";

const ROOT = join(import.meta.dirname, "..", "..");
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(executablePath);
if (!haveChromium) {
  console.warn(
    `test/browser/report.test.ts skipped: no Chromium at ${executablePath} ` +
      "(apt-get install -y --no-install-recommends chromium, or set CHROMIUM_PATH)",
  );
}

/** The little of the DOM the page functions below use (the project compiles without the DOM lib). */
interface Canvas {
  width: number;
  clientWidth: number;
  dataset: { chart?: string };
  getContext(kind: "2d"): {
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  };
}
/** A bounding box in CSS pixels. */
interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
}
/** True when two boxes share any area (touching edges do not count). */
const overlaps = (a: Box, b: Box) =>
  a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;

/** What the test reads of a Chart.js chart. */
interface DrawnChart {
  chartArea: { left: number; top: number; right: number; bottom: number };
  data: { datasets: { data: unknown[] }[] };
}

describe.skipIf(!haveChromium)("the HTML report in Chromium", () => {
  let sim: SimChild;
  let dir: string;
  let browser: Browser;
  let result: BenchResult;
  let reportPath: string;

  beforeAll(async () => {
    // Every 9th request fails, so the failure chart and the error table have something to show.
    sim = await startSimChild({ ttftMs: 5, itlMs: 2, jitterMs: 1, errorEvery: 9, noGroundTruth: true });
    dir = mkdtempSync(join(tmpdir(), "tokenforge-report-browser-"));
    const shape = {
      promptLen: { kind: "fixed", value: 16 },
      genTokens: { kind: "fixed", value: 8 },
    } as const;
    result = await runBenchmark({
      config: {
        model: "sim",
        runtimes: ["sim-a", "sim-b"],
        targets: { "sim-a": sim.url, "sim-b": sim.url },
        workloads: [
          workloadOf({ name: "steady", qps: 25, numRequests: 50, slo: { ttftMs: 50 }, seed: 1, ...shape }),
          workloadOf({
            name: "sweep",
            numRequests: 12,
            sweep: { points: 2 },
            slo: { e2eMs: 5000 },
            seed: 2,
            ...shape,
          }),
        ],
        seed: 1,
        cost: { dollarsPerHour: 2, breakdown: { hourly: 2 } },
      },
      runtimes: new RuntimeRegistry([]),
      outDir: join(dir, "run"),
    });
    reportPath = writeReport(join(dir, "run", "result.json")).path;
    browser = await chromium.launch({ executablePath });
  });

  afterAll(async () => {
    await browser?.close();
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("loads offline without errors, draws every chart and lists every workload × runtime", async () => {
    expect(result.sweeps).toHaveLength(2);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    const url = pathToFileURL(reportPath).href;
    page.on("request", (r) => {
      if (r.url() !== url) problems.push(`request: ${r.url()}`);
    });
    await page.goto(url);
    // The page's script marks the document once it has drawn every chart.
    await page.waitForSelector("html[data-charts-drawn]", { state: "attached" });

    const charts = await page.$$eval("canvas[data-chart]", (canvases) =>
      canvases.map((c) => {
        const canvas = c as unknown as Canvas;
        const chart = (
          globalThis as unknown as { Chart: { getChart(c: Canvas): DrawnChart | undefined } }
        ).Chart.getChart(canvas);
        if (chart === undefined) return { title: canvas.dataset.chart, points: 0, painted: 0, colored: 0 };
        // Pixels inside the plot area (legend and axes left out) drawn in a series' color, not the
        // grey of the grid.
        const scale = canvas.width / canvas.clientWidth;
        const a = chart.chartArea;
        const x0 = Math.floor(a.left * scale);
        const y0 = Math.floor(a.top * scale);
        const w = Math.ceil((a.right - a.left) * scale);
        const h = Math.ceil((a.bottom - a.top) * scale) + 2;
        const { data } = canvas.getContext("2d")!.getImageData(x0, y0, w, h);
        let painted = 0;
        let colored = 0;
        for (let i = 0; i < data.length; i += 4) {
          const [r, g, b, alpha] = [data[i]!, data[i + 1]!, data[i + 2]!, data[i + 3]!];
          if (alpha === 0) continue;
          painted++;
          if (Math.max(r, g, b) - Math.min(r, g, b) > 60) colored++;
        }
        const points = chart.data.datasets.reduce((n, d) => n + d.data.length, 0);
        return { title: canvas.dataset.chart, points, painted, colored };
      }),
    );
    const drawn = Number(await page.getAttribute("html", "data-charts-drawn"));
    expect(drawn).toBe(charts.length);
    for (const c of charts) {
      expect(c.points, c.title).toBeGreaterThan(0);
      expect(c.painted, c.title).toBeGreaterThan(100);
      expect(c.colored, c.title).toBeGreaterThan(10);
    }
    const titles = new Set(charts.map((c) => c.title));
    for (const t of [
      "TTFT CDF",
      "TPOT CDF",
      "ITL CDF",
      "E2E latency CDF",
      "TTFT percentiles",
      "TPOT percentiles",
      "Achieved request rate",
      "Requests in flight",
      "Failed requests (errored or incomplete)",
      "TTFT vs throughput",
      "Output tokens/s vs throughput",
    ]) {
      expect(titles.has(t), t).toBe(true);
    }

    const rows = await page.$$eval("table.summary tbody tr", (trs) =>
      trs.map((tr) => [tr.querySelector("td")?.textContent, tr.querySelector(".runtime")?.textContent]),
    );
    expect(rows).toEqual(result.results.map((r) => [r.workload, r.runtime]));
    const sections = await page.$$eval("section.workload h3", (hs) => hs.map((h) => h.textContent));
    expect(sections).toEqual([...new Set(result.results.map((r) => r.workload))]);
    expect(await page.textContent("body")).toContain("highest rate meeting the SLOs");

    // Every legend item's colour box sits beside its text, and no item runs into another, at a
    // wide and a narrow width (where legends wrap).
    for (const width of [1280, 420]) {
      await page.setViewportSize({ width, height: 900 });
      const legends = await page.$$eval("ul.legend", (lists) =>
        lists.map((ul) => {
          const rect = (e: unknown) => {
            const r = (e as { getBoundingClientRect(): Box }).getBoundingClientRect();
            return { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
          };
          return [...ul.querySelectorAll("li")].map((li) => ({
            item: rect(li),
            box: rect(li.querySelector(".legend-box")),
            text: rect(li.querySelector(".legend-text")),
            label: li.textContent,
          }));
        }),
      );
      expect(legends).toHaveLength(charts.length);
      legends.forEach((items, i) => {
        expect(items.length, charts[i]!.title).toBeGreaterThan(0);
        for (const it of items) {
          expect(it.box.right - it.box.left, it.label!).toBeGreaterThan(0);
          expect(it.text.right - it.text.left, it.label!).toBeGreaterThan(0);
          expect(overlaps(it.box, it.text), `${charts[i]!.title}: ${it.label} box and text`).toBe(false);
          expect(it.box.right, it.label!).toBeLessThanOrEqual(it.text.left);
        }
        for (let a = 0; a < items.length; a++)
          for (let b = a + 1; b < items.length; b++)
            expect(overlaps(items[a]!.item, items[b]!.item), `${items[a]!.label} / ${items[b]!.label}`).toBe(
              false,
            );
      });
    }
    await page.setViewportSize({ width: 1280, height: 900 });

    mkdirSync(join(ROOT, "test-artifacts"), { recursive: true });
    await page.screenshot({ path: join(ROOT, "test-artifacts", "report.png"), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });
});
