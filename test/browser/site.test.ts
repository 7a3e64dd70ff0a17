/**
 * The published results site in headless Chromium: two engines' sweeps and a low-load run,
 * published with a cost profile. The index page loads with no console error and no request beyond
 * its own file; its two inline SVG pictures draw (throughput against latency with one marker per
 * measured rate and the capacity point ringed; $ per 1M output tokens with one bar per headline
 * entry); every legend's colour box stands apart from its text; no text leaves its picture. A
 * screenshot is kept in test-artifacts/site.png.
 *
 * Chromium is Debian's (`.ci/run` installs it); `CHROMIUM_PATH` overrides /usr/bin/chromium.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { costProfile } from "../../src/bench/cost-profile.js";
import type { BenchResult } from "../../src/bench/run.js";
import { publish } from "../../src/site/publish.js";
import { lowLoad, sweepRun } from "../site/site-fixtures.js";

const ROOT = join(import.meta.dirname, "..", "..");
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(executablePath);
if (!haveChromium) {
  console.warn(
    `test/browser/site.test.ts skipped: no Chromium at ${executablePath} ` +
      "(apt-get install -y --no-install-recommends chromium, or set CHROMIUM_PATH)",
  );
}

interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
}
const overlaps = (a: Box, b: Box) =>
  a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
const inside = (a: Box, outer: Box) =>
  a.left >= outer.left - 0.5 &&
  a.right <= outer.right + 0.5 &&
  a.top >= outer.top - 0.5 &&
  a.bottom <= outer.bottom + 0.5;

/** The little of the DOM the page functions use (the project compiles without the DOM lib). */
interface El {
  getBoundingClientRect(): Box;
  querySelector(s: string): El | null;
  querySelectorAll(s: string): Iterable<El>;
  getAttribute(n: string): string | null;
  textContent: string | null;
}

describe.skipIf(!haveChromium)("the results site in Chromium", () => {
  let dir: string;
  let browser: Browser;
  let index: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tokenforge-site-browser-"));
    const write = (r: BenchResult) => {
      const d = join(dir, "results", r.id);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, "result.json"), JSON.stringify(r));
      return d;
    };
    const out = join(dir, "site");
    publish({
      results: [
        write(sweepRun("a-sweep", "2026-11-01T00:00:00Z", undefined, "llamacpp", 1)),
        write(sweepRun("b-sweep", "2026-11-02T00:00:00Z", undefined, "vllm-with-a-long-engine-name", 3)),
        write(lowLoad("a-quick", "2026-11-03T00:00:00Z")),
      ],
      outDir: out,
      history: 5,
      cost: { ...costProfile({ dollars_per_hour: 2 }), source: "test.yaml" },
    });
    index = join(out, "index.html");
    browser = await chromium.launch({ executablePath });
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("draws both pictures, offline, with legends and labels that stay clear of each other", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    const url = pathToFileURL(index).href;
    page.on("request", (r) => {
      if (r.url() !== url) problems.push(`request: ${r.url()}`);
    });
    await page.goto(url);

    const charts = await page.$$eval("svg[id^=chart-]", (svgs) =>
      svgs.map((node) => {
        const svg = node as unknown as El;
        const box = (e: El) => {
          const r = e.getBoundingClientRect();
          return { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
        };
        return {
          id: svg.getAttribute("id"),
          frame: box(svg),
          points: [...svg.querySelectorAll("circle.point")].map((c) => ({
            r: Number(c.getAttribute("r")),
            box: box(c),
          })),
          bars: [...svg.querySelectorAll("g.bar rect")].map(box),
          texts: [...svg.querySelectorAll("text")].map((t) => ({ text: t.textContent, box: box(t) })),
          legend: [...svg.querySelectorAll("g.legend-item")].map((g) => ({
            box: box(g.querySelector(".legend-box")!),
            text: box(g.querySelector(".legend-text")!),
            label: g.querySelector(".legend-text")!.textContent,
          })),
        };
      }),
    );
    expect(charts.map((c) => c.id)).toEqual(["chart-throughput-latency", "chart-cost"]);
    const [curve, cost] = charts as [(typeof charts)[number], (typeof charts)[number]];

    // Two engines × four measured rates; each engine's capacity point (8 req/s) drawn larger.
    expect(curve.points).toHaveLength(8);
    expect(curve.points.filter((p) => p.r > 4)).toHaveLength(2);
    for (const p of curve.points) expect(inside(p.box, curve.frame)).toBe(true);
    expect(curve.legend.map((l) => l.label)).toEqual([
      expect.stringContaining("llamacpp"),
      expect.stringContaining("vllm-with-a-long-engine-name"),
    ]);

    // The headline: each engine's capacity point (not the newer low-load run), one bar each; the
    // engine three times as fast costs a third.
    expect(cost.bars).toHaveLength(2);
    const widths = cost.bars.map((b) => b.right - b.left);
    expect(widths[1]! / widths[0]!).toBeCloseTo(1 / 3, 1);

    for (const c of charts) {
      for (const l of c.legend) {
        expect(overlaps(l.box, l.text), `${c.id}: ${l.label}`).toBe(false);
        expect(l.box.right).toBeLessThanOrEqual(l.text.left);
      }
      for (let a = 0; a < c.legend.length; a++)
        for (let b = a + 1; b < c.legend.length; b++)
          expect(overlaps(c.legend[a]!.text, c.legend[b]!.text)).toBe(false);
      for (const t of c.texts)
        expect(inside(t.box, c.frame), `${c.id}: "${t.text}" leaves the picture`).toBe(true);
    }
    const loads = await page.$$eval("tbody tr", (trs) =>
      trs.map((tr) => (tr as unknown as El).querySelectorAll("td")).map((tds) => [...tds][3]?.textContent),
    );
    expect(loads).toEqual(["8.00 req/s · capacity (SLO)", "8.00 req/s · capacity (SLO)"]);

    mkdirSync(join(ROOT, "test-artifacts"), { recursive: true });
    await page.screenshot({ path: join(ROOT, "test-artifacts", "site.png"), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });
});
