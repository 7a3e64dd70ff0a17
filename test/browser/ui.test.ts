/**
 * The gateway's web UI in headless Chromium, against a real gateway on a port (PGlite in memory,
 * local sim workers, artifacts in a directory): it loads without a console error or a request
 * elsewhere; the deployments view lists a deployment made through the API as ready; the new-run
 * form shows every problem of a bad config, then starts a run that appears in the runs list and
 * finishes; the run's page embeds its report, whose charts draw; two runs picked in the list are
 * compared side by side with a verdict per metric; a deployment is deleted from its view.
 * Screenshots are kept in test-artifacts/ (ui.png: the run with its report; ui-compare.png).
 *
 * Chromium is Debian's (`.ci/run` installs it); `CHROMIUM_PATH` overrides /usr/bin/chromium.
 * Without it the test is skipped, saying why.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Frame, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatValue } from "../../src/bench/format.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

const ROOT = join(import.meta.dirname, "..", "..");
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(executablePath);
if (!haveChromium) {
  console.warn(
    `test/browser/ui.test.ts skipped: no Chromium at ${executablePath} ` +
      "(apt-get install -y --no-install-recommends chromium, or set CHROMIUM_PATH)",
  );
}

/** The little of the DOM the page functions below use (the project compiles without the DOM lib). */
interface Canvas {
  width: number;
  height: number;
  dataset: { chart?: string };
  getContext(kind: "2d"): {
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  };
}
interface Element {
  textContent: string | null;
  querySelector(s: string): Element | null;
}

/** What the test reads of the API's answers. */
type ApiBody = { id: string; status: string; last_error?: string };

const MODEL = "sim-ui";
const SLOW_MODEL = "sim-ui-slow";
const WORKLOAD = { name: "ui", qps: 50, num_requests: 20, prompt_len: 16, gen_tokens: 4 };

/** Painted and colored (not grey) pixels of every canvas in a frame. */
function canvasPixels(frame: Frame) {
  return frame.$$eval("canvas", (canvases) =>
    canvases.map((c) => {
      const canvas = c as unknown as Canvas;
      const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
      let painted = 0;
      let colored = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] === 0) continue;
        painted++;
        const [r, g, b] = [data[i]!, data[i + 1]!, data[i + 2]!];
        if (Math.max(r, g, b) - Math.min(r, g, b) > 60) colored++;
      }
      return { title: canvas.dataset.chart, painted, colored };
    }),
  );
}

describe.skipIf(!haveChromium)("the web UI in Chromium", () => {
  let t: TestGateway;
  let base: string;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  /** Messages expected at the moment (the 400 of a refused config is logged by Chromium). */
  let expected: RegExp | undefined;

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as ApiBody };
  };
  const until = async <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000) => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    t = await startTestGateway({ name: "ui-browser" });
    base = await t.gateway.app.listen({ host: "127.0.0.1", port: 0 });
    browser = await chromium.launch({ executablePath });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("console", (m) => {
      if (m.type() !== "error" && m.type() !== "warning") return;
      const text = `console ${m.type()}: ${m.text()}`;
      if (expected?.test(m.text())) return;
      problems.push(text);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("request", (r) => {
      if (!r.url().startsWith(`${base}/`)) problems.push(`request elsewhere: ${r.url()}`);
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it("shows deployments, starts a run from the form, draws its report and compares two runs", async () => {
    const shots = join(ROOT, "test-artifacts");
    mkdirSync(shots, { recursive: true });

    // A deployment made through the API shows up as ready in the deployments view (the default).
    const dep = await api("POST", "/deploy", { model: MODEL, runtime: "sim" });
    expect(dep.status).toBe(202);
    const depId: string = dep.json.id;
    await page.goto(`${base}/`);
    expect(page.url()).toBe(`${base}/ui`);
    const depRow = page.locator(`tr[data-id="${depId}"]`);
    await depRow.locator(".status-ready").waitFor({ timeout: 20_000 });
    const depCells = await depRow.locator("td").allTextContents();
    expect(depCells.slice(0, 6)).toEqual([depId, MODEL, "sim", "local", "1", "ready"]);
    expect(depCells[6]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    // The form: a bad config gets every problem listed, as text.
    await page.click('nav a[data-view="new"]');
    await page.fill('input[name="model"]', MODEL);
    await page.fill('input[name="runtimes"]', "sim, <b>bold</b>");
    await page.fill('input[name="rate"]', "-1");
    await page.fill('input[name="prompt_len"]', "0");
    expected = /status of 400/;
    await page.click('form.new-run button[type="submit"]');
    await page.locator(".error li").first().waitFor();
    const listed = await page.locator(".error li").allTextContents();
    expected = undefined;
    expect(await page.locator(".error p").textContent()).toBe("invalid benchmark config (3 problems):");
    expect(listed).toHaveLength(3);
    expect(listed.map((l) => l.slice(0, l.indexOf(":")))).toEqual([
      "runtimes[1]",
      "workloads[0].qps",
      "workloads[0].prompt_len",
    ]);
    expect(listed[0]).toContain("<b>bold</b>");
    // So does a pasted config that is not YAML.
    await page.click("details summary");
    await page.fill('textarea[name="config"]', "model: [x\nruntimes: {sim");
    expected = /status of 400/;
    await page.click('form.raw-config button[type="submit"]');
    await page.locator(".error p", { hasText: "not valid YAML" }).waitFor();
    expected = undefined;
    await page.screenshot({ path: join(shots, "ui-new-run.png"), fullPage: true });
    expect(await page.locator(".error b").count()).toBe(0);

    // A good one starts a run and opens it.
    await page.fill('input[name="runtimes"]', "sim");
    await page.fill('input[name="rate"]', String(WORKLOAD.qps));
    await page.fill('input[name="num_requests"]', String(WORKLOAD.num_requests));
    await page.fill('input[name="prompt_len"]', String(WORKLOAD.prompt_len));
    await page.fill('input[name="gen_tokens"]', String(WORKLOAD.gen_tokens));
    await page.click('form.new-run button[type="submit"]');
    await page.waitForURL(/#\/runs\/run-/);
    const runA = decodeURIComponent(page.url().replace(/.*#\/runs\//, ""));

    // It appears in the runs list and finishes there.
    await page.click('nav a[data-view="runs"]');
    await page.locator(`tr[data-id="${runA}"][data-status="complete"]`).waitFor({ timeout: 30_000 });

    // Its page: the results, the artifacts, and the report whose charts all draw.
    await page.click(`tr[data-id="${runA}"] a`);
    await page.locator("table.results tbody tr").waitFor();
    const resultCells = await page.locator("table.results tbody tr td").allTextContents();
    expect(resultCells.slice(0, 3)).toEqual(["ui", "sim", "20 / 0 / 0"]);
    // The bundled client writes numbers to the precision the terminal tables use.
    for (const v of resultCells.slice(3)) {
      expect(Number(v)).toBeGreaterThan(0);
      expect(v).toBe(formatValue(Number(v)));
    }
    const artifacts = await page.locator("ul.artifacts a").allTextContents();
    expect(artifacts).toEqual(expect.arrayContaining(["result.json", "requests.jsonl.gz", "report.html"]));
    const iframe = page.locator('iframe.report[sandbox="allow-scripts"]');
    const frame = await until(
      "the report frame",
      async () => (await (await iframe.elementHandle())?.contentFrame()) ?? undefined,
    );
    await frame.waitForSelector("html[data-charts-drawn]", { state: "attached" });
    const drawn = Number(await frame.getAttribute("html", "data-charts-drawn"));
    const canvases = await canvasPixels(frame);
    expect(canvases.length).toBeGreaterThan(3);
    expect(drawn).toBe(canvases.length);
    for (const c of canvases) {
      expect(c.painted, c.title).toBeGreaterThan(100);
      expect(c.colored, c.title).toBeGreaterThan(10);
    }
    // The report cannot reach the page that embeds it (an opaque origin).
    expect(await frame.evaluate(() => (globalThis as unknown as { origin: string }).origin)).toBe("null");
    await page.screenshot({ path: join(shots, "ui.png"), fullPage: true });

    // A second run through the API on a slower server (TTFT + 40 ms), then both picked in the
    // list and compared: the TTFT regression is called and highlighted.
    const slow = await api("POST", "/deploy", {
      model: SLOW_MODEL,
      runtime: "sim",
      engine_args: ["--ttft-ms", "40"],
    });
    await until("the slow deployment", async () => {
      const d = (await api("GET", `/deployments/${slow.json.id}`)).json;
      if (d.status === "failed") throw new Error(`deployment failed: ${d.last_error}`);
      return d.status === "ready" ? d : undefined;
    });
    const second = await api("POST", "/benchmarks/run", {
      model: SLOW_MODEL,
      runtimes: ["sim"],
      workloads: [WORKLOAD],
    });
    expect(second.status).toBe(202);
    const runB: string = second.json.id;
    await until("the second run", async () => {
      const r = await api("GET", `/benchmarks/${runB}`);
      return r.json.status === "queued" || r.json.status === "running" ? undefined : r.json.status;
    });
    expect((await api("DELETE", `/deployments/${slow.json.id}`)).status).toBe(200);
    // Meanwhile run A's page stopped polling once the run was over: its report was not drawn again.
    expect(frame.isDetached()).toBe(false);
    await page.click('nav a[data-view="runs"]');
    await page.locator(`tr[data-id="${runB}"][data-status="complete"]`).waitFor();
    expect(await page.locator("button.compare").isDisabled()).toBe(true);
    await page.check(`tr[data-id="${runB}"] input[type="checkbox"]`);
    await page.check(`tr[data-id="${runA}"] input[type="checkbox"]`);
    await page.click("button.compare");
    await page.waitForURL(/#\/compare\?/);
    expect(page.url()).toContain(`a=${runA}&b=${runB}`);
    await page.locator("td.verdict").first().waitFor();
    expect(await page.locator("section.pair h3").allTextContents()).toEqual(["ui · sim"]);
    const verdicts = await page.locator("td.verdict").allTextContents();
    expect(verdicts).toHaveLength(10);
    for (const v of verdicts)
      expect(["better", "worse", "within noise", "within threshold", "missing"]).toContain(v);
    const worse = verdicts.filter((v) => v === "worse").length;
    expect(worse).toBeGreaterThan(0);
    expect(await page.locator("tr.metric-worse").count()).toBe(worse);
    expect(await page.locator("p.verdicts").textContent()).toMatch(new RegExp(`^${worse} regressions?, `));
    const ttft = await page.$eval('tr[data-key="ttft_p50"]', (tr) =>
      [...(tr as unknown as { children: Iterable<Element> }).children].map((td) => td.textContent),
    );
    expect(ttft[0]).toBe("TTFT p50");
    expect(Number(ttft[3])).toBeGreaterThan(Number(ttft[2]) + 30);
    expect(ttft[4]).toMatch(/^\+\d+(\.\d+)? %$/);
    expect(ttft[6]).toBe("worse");
    expect(
      await page.$eval('tr[data-key="ttft_p50"]', (tr) => (tr as unknown as { className: string }).className),
    ).toContain("metric-worse");
    await page.screenshot({ path: join(shots, "ui-compare.png"), fullPage: true });

    // The filter narrows the list (in the query), and a deployment is deleted from its view.
    await page.goto(`${base}/ui#/runs?model=nothing-here`);
    await page.locator(".runs .empty").waitFor();
    await page.fill('form.filters input[name="model"]', MODEL);
    await page.selectOption('form.filters select[name="status"]', "complete");
    await page.click('form.filters button[type="submit"]');
    await page.waitForURL(`${base}/ui#/runs?model=${MODEL}&status=complete`);
    await page.locator(`tr[data-id="${runA}"]`).waitFor();
    expect(await page.locator("table.runs tbody tr").count()).toBe(1);
    await page.click('nav a[data-view="deployments"]');
    page.once("dialog", (d) => void d.accept());
    await page.click(`tr[data-id="${depId}"] button.danger`);
    await page.locator(`tr[data-id="${depId}"]`).waitFor({ state: "detached" });
    expect((await api("GET", "/deployments")).json).toEqual([]);

    expect(problems).toEqual([]);
  }, 60_000);

  it("deploys from the form, shows a refusal's reason, and lists finished runs with their key figures", async () => {
    await page.goto(`${base}/ui#/deployments`);
    const form = page.locator("form.deploy");
    // Refused: the gateway's reason, its field and status are on the page.
    await form.locator('input[name="model"]').fill("sim-ui-form");
    await form.locator('input[name="runtime"]').fill("no-such-runtime");
    expected = /status of 400/;
    await form.locator('button[type="submit"]').click();
    const refusal = page.locator(".error", { hasText: "no-such-runtime" });
    await refusal.waitFor();
    expected = undefined;
    expect(await refusal.locator("p").textContent()).toMatch(
      /^unknown runtime "no-such-runtime"; known: .*sim/,
    );
    expect(await refusal.locator(".error-meta").textContent()).toBe("HTTP 400 · field runtime");
    const models = () =>
      api("GET", "/deployments").then((r) => (r.json as unknown as { model: string }[]).map((d) => d.model));
    expect(await models()).not.toContain("sim-ui-form");

    // Accepted: it appears in the list and becomes ready.
    await form.locator('input[name="runtime"]').fill("sim");
    await form.locator('input[name="replicas"]').fill("2");
    await form.locator('button[type="submit"]').click();
    await page.locator(".error").waitFor({ state: "detached" });
    const row = page.locator("tr", { hasText: "sim-ui-form" });
    await row.locator(".status-ready").waitFor({ timeout: 90_000 });
    const cells = await row.locator("td").allTextContents();
    expect(cells.slice(1, 5)).toEqual(["sim-ui-form", "sim", "local", "2"]);
    const id = cells[0]!;

    // A run on it, then the runs list shows its key figures.
    const run = await api("POST", "/benchmarks/run", {
      model: "sim-ui-form",
      runtimes: ["sim"],
      workloads: [WORKLOAD],
    });
    expect(run.status).toBe(202);
    const runId: string = run.json.id;
    await until(
      "the run on the form's deployment",
      async () => {
        const r = await api("GET", `/benchmarks/${runId}`);
        return r.json.status === "queued" || r.json.status === "running" ? undefined : r.json.status;
      },
      90_000,
    );
    expect((await api("DELETE", `/deployments/${id}`)).status).toBe(200);
    await page.goto(`${base}/ui#/runs`);
    const figures = page.locator(`tr[data-id="${runId}"] td.figures`, { hasText: " ok" });
    await figures.waitFor();
    expect(await figures.textContent()).toMatch(
      /^\S+ out tok\/s · TTFT p50 \S+ ms · \S+ req\/s · 20\/20 ok$/,
    );
    expect(problems).toEqual([]);
  }, 240_000);
});
