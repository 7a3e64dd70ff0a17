/**
 * One row of the compatibility matrix, benchmarked: a short run of the harness (calibration, the
 * first-request check, an open-loop schedule, aggregation, the result file and the HTML report)
 * against a server attached as runtime `openai`, and what the result must say about it: how
 * prompt tokens were counted, whether output lengths were exact, and the notes a reader needs.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configFromObject } from "../../src/bench/config.js";
import { type BenchResult, runBenchmark } from "../../src/bench/run.js";
import type { TokenCountSource } from "../../src/bench/types.js";
import { chartLibrary } from "../../src/report/assets.js";
import { loadReportData } from "../../src/report/data.js";
import { renderReport } from "../../src/report/html.js";
import { openaiRuntime } from "../../src/runtimes/openai/index.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";

export interface RowServer {
  url: string;
  model: string;
  /** An API key the server requires, read from an environment variable by the run. */
  apiKey?: string;
  close(): Promise<void>;
}

export interface RowExpectations {
  endpoint: "completions" | "chat";
  calibration: { source: TokenCountSource; tokenize?: string; overhead?: number };
  /** Every way of counting passed over before the one that counted, as a pattern each. */
  passedOver?: RegExp[];
  exactLengths: boolean;
  ignoreEosSent: boolean;
}

const KEY_ENV = "TF_COMPAT_API_KEY";
const REQUESTS = 12;
const GEN = 8;

export function defineBenchmarkRow(
  name: string,
  start: () => Promise<RowServer>,
  want: RowExpectations,
): void {
  describe(`compatibility: ${name}, benchmarked`, () => {
    let server: RowServer;
    let dir: string;
    let result: BenchResult;
    beforeAll(async () => {
      server = await start();
      dir = mkdtempSync(join(tmpdir(), "tokenforge-compat-"));
      const config = configFromObject({
        model: server.model,
        runtimes: ["openai"],
        targets: {
          openai: server.apiKey === undefined ? server.url : { url: server.url, api_key_env: KEY_ENV },
        },
        workloads: [
          {
            name: "short",
            num_requests: REQUESTS,
            qps: 20,
            prompt_len: 24,
            gen_tokens: GEN,
            endpoint: want.endpoint,
            stream: true,
          },
        ],
      });
      const t0 = performance.now();
      result = await runBenchmark({
        config,
        runtimes: new RuntimeRegistry([openaiRuntime()]),
        outDir: join(dir, "run"),
        serverMetrics: false,
        secrets: (v) => (v === KEY_ENV ? server.apiKey : undefined),
        onEvent: (e) => {
          if (e.kind === "log")
            console.info(`[${name}] ${(performance.now() - t0).toFixed(0)} ms: ${e.message}`);
        },
      });
    }, 120_000);
    afterAll(async () => {
      await server?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("calibrates prompt lengths by a method that proved itself, and records it", () => {
      expect(result.calibration).toMatchObject(want.calibration);
      if (want.calibration.tokenize === undefined) expect(result.calibration.tokenize).toBeUndefined();
      for (const p of want.passedOver ?? [])
        expect(result.calibration.tried ?? []).toContainEqual(expect.stringMatching(p));
      const m = result.results[0]!.metrics;
      // The server counted the prompts as planned: calibration was right.
      expect(m.tokenMismatch.promptVsPlanned).toBe(0);
    });

    it("completes every request, and says whether output lengths were exact", () => {
      expect(result.status).toBe("complete");
      const m = result.results[0]!.metrics;
      expect(m.counts).toMatchObject({ total: REQUESTS, ok: REQUESTS });
      expect(m.outputLengths).toMatchObject({ exact: want.exactLengths, ignoreEosSent: want.ignoreEosSent });
      const note = m.warnings.find((w) => w.startsWith("output lengths not exact"));
      if (want.exactLengths) {
        expect(note).toBeUndefined();
        expect(m.tokens.output).toBe(REQUESTS * GEN);
      } else {
        expect(note).toMatch(/compare them with another runtime only at equal lengths/);
        expect(result.warnings).toContainEqual(expect.stringContaining("output lengths not exact"));
      }
      if (!want.ignoreEosSent)
        expect(result.warnings).toContainEqual(expect.stringMatching(/^openai refuses ignore_eos/));
      // A schedule warning fires only on this machine's own lag, and then says what to do.
      if (m.lagWarning) expect(m.lagMessage).toMatch(/give it more CPU|max_concurrency/);
    });

    it("writes a result file and a report that show the same", () => {
      const file = join(dir, "run", "result.json");
      const saved = JSON.parse(readFileSync(file, "utf8")) as BenchResult;
      expect(saved.results[0]!.metrics.outputLengths?.exact).toBe(want.exactLengths);
      const html = renderReport(loadReportData(file), chartLibrary());
      if (want.exactLengths) expect(html).not.toContain("output lengths not exact");
      else expect(html).toContain("output lengths not exact");
      expect(html).toContain(want.calibration.source);
    });
  });
}
