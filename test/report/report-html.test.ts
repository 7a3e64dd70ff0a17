/**
 * The rendered page: embedded JSON and text cannot break out of their elements, nothing is
 * fetched at view time, absent values show as "–", the size stays bounded for a 100k-request run,
 * and `tokenforge report`'s output and exit codes.
 */
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { aggregate } from "../../src/bench/aggregate.js";
import type { RequestTrace } from "../../src/bench/types.js";
import { registerReportCommand, runReport } from "../../src/cli/report.js";
import { chartLibrary, inlineScript } from "../../src/report/assets.js";
import { loadReportData } from "../../src/report/data.js";
import { renderReport } from "../../src/report/html.js";
import { escapeHtml, jsonForScript } from "../../src/report/html-escape.js";
import { writeReport } from "../../src/report/write.js";

const dir = mkdtempSync(join(tmpdir(), "tokenforge-report-html-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const EVIL = "</script><script>alert(1)</script><!--";

function okTrace(index: number, sendMs: number): RequestTrace {
  return {
    index,
    warmup: false,
    scheduledMs: sendMs,
    sendMs,
    chunkMs: [sendMs + 10, sendMs + 12, sendMs + 15],
    endMs: sendMs + 16,
    outcome: "ok",
    promptTokens: 8,
    maxTokens: 3,
    usage: { promptTokens: 8, completionTokens: 3 },
  };
}

interface Group {
  workload: string;
  runtime: string;
  traces: RequestTrace[];
}

/** Writes result.json (and requests.jsonl unless `traces` is false) for the groups. */
function writeRun(
  name: string,
  groups: Group[],
  opts: { status?: string; warnings?: string[]; traces?: boolean; cost?: boolean } = {},
): string {
  const runDir = join(dir, name);
  mkdirSync(runDir, { recursive: true });
  const cost = opts.cost ? { dollarsPerHour: 3.6, breakdown: { hourly: 3.6 } } : undefined;
  const result = {
    schema: "tokenforge.bench.result/v1",
    id: name,
    status: opts.status ?? "complete",
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:01:00.000Z",
    seed: 0,
    config: { model: "synthetic:tiny", runtimes: [], targets: {}, workloads: [], seed: 0 },
    results: groups.map((g) => ({
      workload: g.workload,
      runtime: g.runtime,
      metrics: aggregate(g.traces, { slo: {}, ...(cost === undefined ? {} : { cost }) }),
      run: {},
    })),
    sweeps: [],
    warnings: opts.warnings ?? [],
    files: { requests: "requests.jsonl", vllm: [] },
  };
  writeFileSync(join(runDir, "result.json"), JSON.stringify(result));
  if (opts.traces !== false) {
    const lines = groups.flatMap((g) =>
      g.traces.map((t) => JSON.stringify({ workload: g.workload, runtime: g.runtime, ...t })),
    );
    writeFileSync(join(runDir, "requests.jsonl"), `${lines.join("\n")}\n`);
  }
  return join(runDir, "result.json");
}

const traces = (n: number) => Array.from({ length: n }, (_, i) => okTrace(i, i * 100));

function render(file: string): string {
  return renderReport(loadReportData(file), chartLibrary());
}

function embeddedJson(html: string): { charts: { title: string; series: { label: string }[] }[] } {
  const m = /<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(html);
  expect(m).not.toBeNull();
  return JSON.parse(m![1]!);
}

describe("escaping", () => {
  it("escapes JSON for a script element: no <, >, & or line separators, still the same JSON", () => {
    const value = { s: `${EVIL} & \u2028\u2029 "q"` };
    const text = jsonForScript(value);
    expect(text).not.toMatch(/[<>&\u2028\u2029]/);
    expect(text).toContain("\\u003c/script\\u003e");
    expect(JSON.parse(text)).toEqual(value);
    expect(escapeHtml(`<a href="x">&'`)).toBe("&#60;a href=&#34;x&#34;&#62;&#38;&#39;");
  });

  it("keeps hostile workload, runtime and warning text inside its elements", () => {
    const file = writeRun("evil", [{ workload: `w${EVIL}`, runtime: `r${EVIL}\u2028`, traces: traces(5) }], {
      warnings: [`careful ${EVIL}`],
    });
    const html = render(file);
    // Exactly the page's own three scripts: the data, the chart library, the page's script.
    expect(html.match(/<script/gi)).toHaveLength(3);
    expect(html.match(/<\/script/gi)).toHaveLength(3);
    expect(html).not.toContain("<script>alert(1)");
    expect(html).not.toContain("<!--");
    expect(html).toContain("w&#60;/script&#62;&#60;script&#62;alert(1)&#60;/script&#62;&#60;!--");
    expect(html).toContain("careful &#60;/script&#62;");
    // The runtime name reaches the chart data intact, through the escaped JSON.
    const data = embeddedJson(html);
    expect(data.charts.length).toBeGreaterThan(0);
    expect(data.charts[0]!.series[0]!.label).toBe(`r${EVIL}\u2028`);
  });

  it("makes a library's text safe to inline", () => {
    expect(inlineScript('a("</script>");b("<!--")\n//# sourceMappingURL=x.map\n')).toBe(
      'a("<\\/script>");b("<\\!--")\n\n',
    );
  });
});

describe("a self-contained page", () => {
  const file = writeRun("plain", [
    { workload: "w", runtime: "a", traces: traces(20) },
    { workload: "w", runtime: "b", traces: traces(10) },
  ]);
  const html = render(file);
  const library = chartLibrary();

  it("inlines the chart library and loads nothing from anywhere", () => {
    expect(library.version).toMatch(/^4\./);
    expect(html.includes(library.js)).toBe(true);
    // Booleans, not the page itself, in a failure message: the page is 200 kB.
    const external = /<(script|link|img|iframe|object|embed|source|video|audio)\b[^>]*\s(src|href|data)\s*=/i;
    expect(external.test(html)).toBe(false);
    // Outside the library there is no URL at all, nor a CSS fetch.
    const page = html.replace(library.js, "");
    expect(page.match(/https?:\/\/|url\(|@import/gi)).toBeNull();
    expect(page).toContain(
      `content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"`,
    );
  });

  it("has every section, one chart per metric with a series per runtime, and – for unknown values", () => {
    for (const h of [
      "Summary",
      "Workloads",
      "Warnings",
      "Configuration",
      "Targets",
      "Environment",
      "Calibration",
    ]) {
      expect(html).toContain(`<h2>${h}</h2>`);
    }
    expect(html).not.toContain("<h2>Sweeps</h2>");
    const titles = embeddedJson(html).charts.map((c) => c.title);
    expect(titles).toEqual([
      "TTFT CDF",
      "TPOT CDF",
      "ITL CDF",
      "E2E latency CDF",
      "TTFT percentiles",
      "TPOT percentiles",
      "Achieved request rate",
      "Requests in flight",
      "Failed requests (errored or incomplete)",
    ]);
    expect(embeddedJson(html).charts[0]!.series.map((s) => s.label)).toEqual(["a", "b"]);
    for (const c of embeddedJson(html).charts) expect(html).toContain(`data-chart="${escapeHtml(c.title)}"`);
    // No SLO and no cost profile: goodput and both costs are unknown.
    const row =
      /<tr><td class="name">w<\/td><td class="name"><span class="runtime">a<\/span><\/td>(.*?)<\/tr>/.exec(
        html,
      )![1]!;
    expect(row.match(/<td>–<\/td>/g)).toHaveLength(3);
    expect(html).not.toContain("Incomplete run");
  });

  it("shows the cost per 1M tokens, an incomplete run, and the lack of traces", () => {
    const other = render(
      writeRun("incomplete", [{ workload: "w", runtime: "a", traces: traces(4) }], {
        status: "incomplete",
        traces: false,
        cost: true,
      }),
    );
    expect(other).toContain('<span class="badge bad">incomplete</span>');
    expect(other).toContain("Incomplete run");
    expect(other).toContain("No per-request traces");
    // 4 × 8 prompt tokens over 0.316 s and $3.6/h: 3.6e6 / (101.27 × 3600) = $9.875 per 1M.
    expect(other).toMatch(/<td>\$9\.88<\/td>/);
    expect(embeddedJson(other).charts.map((c) => c.title)).toEqual(["TTFT percentiles", "TPOT percentiles"]);
  });

  it("stays under 1 MB for a 100k-request run", async () => {
    const runDir = join(dir, "big");
    mkdirSync(runDir, { recursive: true });
    // 100,000 requests over an hour on two runtimes, written as the harness writes them.
    const groups: Group[] = ["a", "b"].map((runtime) => ({
      workload: "long",
      runtime,
      traces: Array.from({ length: 50_000 }, (_, i) => okTrace(i, i * 72 + (i % 7))),
    }));
    const out = createWriteStream(join(runDir, "requests.jsonl"));
    for (const g of groups)
      for (const t of g.traces)
        out.write(`${JSON.stringify({ workload: g.workload, runtime: g.runtime, ...t })}\n`);
    await new Promise((resolve) => out.end(resolve));
    const file = writeRun("big", groups, { traces: false });
    const written = writeReport(file);
    expect(written.path).toBe(join(runDir, "report.html"));
    expect(written.bytes).toBeLessThan(1_000_000);
    const data = embeddedJson(readFileSync(written.path, "utf8")) as unknown as {
      charts: { title: string; series: { x?: number[] }[] }[];
    };
    for (const c of data.charts) for (const s of c.series) expect(s.x?.length ?? 0).toBeLessThanOrEqual(600);
  });
});

describe("tokenforge report", () => {
  const io = () => {
    const out = { stdout: "", stderr: "" };
    return {
      out,
      io: {
        stdout: { write: (s: string) => (out.stdout += s) },
        stderr: { write: (s: string) => (out.stderr += s) },
      },
    };
  };

  it("writes report.html beside the result, or to --out", () => {
    const file = writeRun("cli", [{ workload: "w", runtime: "a", traces: traces(3) }]);
    const a = io();
    expect(runReport(file, {}, a.io)).toBe(0);
    expect(a.out.stdout).toMatch(
      new RegExp(`^report: ${join(dir, "cli", "report.html")} \\(\\d+ KiB\\)\\n$`),
    );
    expect(existsSync(join(dir, "cli", "report.html"))).toBe(true);
    const b = io();
    expect(runReport(file, { out: join(dir, "elsewhere.html") }, b.io)).toBe(0);
    expect(readFileSync(join(dir, "elsewhere.html"), "utf8")).toMatch(/^<!doctype html>/);
  });

  it("says when the traces are missing", () => {
    const file = writeRun("cli-no-traces", [{ workload: "w", runtime: "a", traces: traces(3) }], {
      traces: false,
    });
    const a = io();
    expect(runReport(file, {}, a.io)).toBe(0);
    expect(a.out.stderr).toContain(`${join(dir, "cli-no-traces", "requests.jsonl")} not found`);
  });

  it("exits 2 naming the file and the problem", () => {
    const missing = join(dir, "missing.json");
    const a = io();
    expect(runReport(missing, {}, a.io)).toBe(2);
    expect(a.out.stderr).toBe(`error: ${missing}: cannot read (ENOENT)\n`);
    const notResult = join(dir, "vllm.json");
    writeFileSync(notResult, JSON.stringify({ date: "x", backend: "vllm" }));
    const b = io();
    expect(runReport(notResult, {}, b.io)).toBe(2);
    expect(b.out.stderr).toMatch(/^error: .*vllm\.json: schema: missing/);
    const file = writeRun("cli-bad-out", [{ workload: "w", runtime: "a", traces: traces(1) }]);
    const c = io();
    const bad = join(dir, "no-such-dir", "r.html");
    expect(runReport(file, { out: bad }, c.io)).toBe(2);
    expect(c.out.stderr).toBe(`error: ${bad}: cannot write the report (ENOENT)\n`);
  });

  it("is a command of the CLI", () => {
    const program = new Command();
    registerReportCommand(program);
    const cmd = program.commands.find((c) => c.name() === "report")!;
    expect(cmd.options.map((o) => o.long)).toEqual(["--out"]);
  });
});
