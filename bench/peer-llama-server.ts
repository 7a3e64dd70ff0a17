/**
 * The llama.cpp worker side by side with llama.cpp's own llama-server, built from the same llama.cpp
 * source node-llama-cpp ships (bench/lib/llama-server.ts): the same synthetic GGUF file, matched
 * settings (threads, sequences / parallel slots, context per sequence, batch sizes, flash attention
 * "auto"), each server pinned to one core (`taskset`) and this harness pinned to another. Both are
 * driven by TokenForge's own harness (`runBenchmark`) in one run: closed loops at each concurrency,
 * then an open loop at 90 % of the slower server's request rate at the highest concurrency. Every
 * workload runs on the worker, then on llama-server, before the next workload starts (interleaved),
 * and the whole is repeated. Figures: output tok/s, TTFT p50/p99, TPOT p50, server CPU seconds per
 * generated token and peak RSS, each as TokenForge ÷ llama-server (min / median / max over repeats).
 *
 *   npm run build && npx tsx bench/peer-llama-server.ts [--quick]
 *     [--models tiny,llama-100m] [--quants f16,q8_0] [--concurrency 1,4,8,16] [--repeats 3]
 *     [--threads 1] [--parallel 16] [--ctx 1024] [--batch 512] [--prompt 32] [--tokens 64]
 *     [--server-cpus 0] [--harness-cpus 1] [--no-open-loop] [--worker-cli dist/cli/tokenforge.js]
 *     [--worker-binaries auto|native|prebuilt[,…]]
 *
 * `--worker-cli` runs another build of the worker (an earlier one, to measure a change).
 * `--worker-binaries native,prebuilt` runs one worker per llama.cpp build (`--llama-binary`), each
 * beside llama-server in the same interleaved run: the build for this CPU that
 * `tokenforge llamacpp build` makes, and node-llama-cpp's prebuilt binary.
 *
 * Skips (exit 0, with the reason) where cmake, a compiler or taskset is missing.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { configFromObject } from "../src/bench/config.js";
import type { WorkloadMetrics } from "../src/bench/metric-types.js";
import { runBenchmark } from "../src/bench/run.js";
import { readEnv } from "../src/config.js";
import { resolveModel } from "../src/models/resolve.js";
import { RuntimeRegistry } from "../src/runtimes/registry.js";
import { cpuHasAmx, ensureLlamaServer } from "./lib/llama-server.js";
import { llamaServerArgs, workerArgs } from "./lib/peer-args.js";
import { hasTaskset, type PinnedServer, pinSelf, startPinnedServer } from "./lib/pinned-server.js";
import { writeResult } from "./lib/result.js";
import { median } from "./lib/stream.js";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    models: { type: "string" },
    quants: { type: "string", default: "f16,q8_0" },
    concurrency: { type: "string" },
    repeats: { type: "string" },
    threads: { type: "string", default: "1" },
    parallel: { type: "string", default: "16" },
    ctx: { type: "string", default: "1024" },
    batch: { type: "string", default: "512" },
    prompt: { type: "string", default: "32" },
    tokens: { type: "string" },
    "server-cpus": { type: "string", default: "0" },
    "harness-cpus": { type: "string", default: "1" },
    "no-open-loop": { type: "boolean", default: false },
    "worker-cli": { type: "string" },
    "worker-binaries": { type: "string", default: "auto" },
  },
});
const quick = values.quick!;
const models = (values.models ?? (quick ? "tiny" : "tiny,llama-100m")).split(",");
const quants = values.quants!.split(",");
const levels = (values.concurrency ?? (quick ? "1,8" : "1,4,8,16")).split(",").map(Number);
const repeats = Number(values.repeats ?? (quick ? 1 : 3));
const threads = Number(values.threads);
const parallel = Number(values.parallel);
const ctx = Number(values.ctx);
const batch = Number(values.batch);
const settings = { threads, parallel, ctx, batch };
const promptLen = Number(values.prompt);
const genTokens = Number(values.tokens ?? (quick ? 32 : 64));
const serverCpus = values["server-cpus"]!;
const harnessCpus = values["harness-cpus"]!;
const openLoop = !values["no-open-loop"];
const workerCli = values["worker-cli"] ?? join(import.meta.dirname, "..", "dist", "cli", "tokenforge.js");
const workerBinaries = values["worker-binaries"]!.split(",");
for (const b of workerBinaries) {
  if (!["auto", "native", "prebuilt"].includes(b)) throw new Error(`--worker-binaries: unknown build "${b}"`);
}
if (Math.max(...levels) > parallel)
  throw new Error(`--parallel ${parallel} is below concurrency ${Math.max(...levels)}`);

const log = (line: string) => console.log(line);
if (!hasTaskset()) {
  console.log("skipped: taskset is not installed (util-linux); servers cannot be pinned");
  process.exit(0);
}
const build = ensureLlamaServer(log);
if (typeof build === "string") {
  console.log(`skipped: llama-server cannot be built here: ${build}`);
  process.exit(0);
}
log(`llama-server: ${build.binary} (llama.cpp ${build.release}, ${build.commit.slice(0, 12)})`);
pinSelf(harnessCpus);
const amx = cpuHasAmx();

const TF = "tokenforge";
/** The worker's server name for one llama.cpp build: "tokenforge" for the first, "tokenforge-<build>" for more. */
const tfName = (binary: string, i: number) => (i === 0 ? TF : `${TF}-${binary}`);
const TFS = workerBinaries.map(tfName);
const LS = "llama-server";
const env = readEnv();

interface Sample {
  outputTokS: number;
  ttftP50: number;
  ttftP99: number;
  tpotP50: number;
  requestsPerS: number;
  cpuSecondsPerToken: number;
  peakRssBytes: number;
}

/** Per workload and server, one sample per repeat. */
type Samples = Map<string, Map<string, Sample[]>>;

function sampleOf(m: WorkloadMetrics, cpuSeconds: number, tokens: number, peakRss: number): Sample {
  return {
    outputTokS: m.outputTokenThroughput ?? Number.NaN,
    ttftP50: m.ttftMs?.p50 ?? Number.NaN,
    ttftP99: m.ttftMs?.p99 ?? Number.NaN,
    tpotP50: m.tpotMs?.p50 ?? Number.NaN,
    requestsPerS: m.requestThroughput ?? Number.NaN,
    cpuSecondsPerToken: cpuSeconds / tokens,
    peakRssBytes: peakRss,
  };
}

/** One harness run over `workloads` against both servers, each workload on the worker first. */
async function runBoth(
  model: string,
  servers: PinnedServer[],
  workloads: Record<string, unknown>[],
  samples: Samples,
): Promise<void> {
  const config = configFromObject({
    model,
    // The worker first: the prompts are calibrated on its /tokenize.
    runtimes: servers.map((s) => s.name),
    targets: Object.fromEntries(servers.map((s) => [s.name, s.url])),
    workloads,
  });
  const byName = new Map(servers.map((s) => [s.name, s]));
  const outDir = mkdtempSync(join(tmpdir(), "tokenforge-peer-"));
  const window = new Map<string, { cpu: number; peak: number; timer: NodeJS.Timeout }>();
  try {
    await runBenchmark({
      config,
      runtimes: new RuntimeRegistry([]),
      outDir,
      serverMetrics: false,
      onEvent: (e) => {
        if (e.kind === "log") return;
        const server = byName.get(e.runtime)!;
        const key = `${e.workload}\u0000${e.runtime}`;
        if (e.kind === "start") {
          const w = {
            cpu: server.cpuSeconds(),
            peak: server.rssBytes(),
            timer: undefined as unknown as NodeJS.Timeout,
          };
          w.timer = setInterval(() => {
            w.peak = Math.max(w.peak, server.rssBytes());
          }, 100);
          window.set(key, w);
        } else if (e.kind === "result") {
          const w = window.get(key)!;
          clearInterval(w.timer);
          const cpu = server.cpuSeconds() - w.cpu;
          const m = e.metrics;
          // The window includes the warmup requests, which generate the same lengths.
          const tokens = (m.counts.ok + m.warmupRequests) * genTokens;
          const s = sampleOf(m, cpu, tokens, Math.max(w.peak, server.rssBytes()));
          const perServer = samples.get(e.workload) ?? new Map<string, Sample[]>();
          samples.set(e.workload, perServer);
          perServer.set(e.runtime, [...(perServer.get(e.runtime) ?? []), s]);
          log(
            `  ${e.workload.padEnd(6)} ${e.runtime.padEnd(12)} ${s.outputTokS.toFixed(1).padStart(7)} tok/s  ` +
              `TTFT p50 ${s.ttftP50.toFixed(1)} p99 ${s.ttftP99.toFixed(1)} ms  TPOT p50 ${s.tpotP50.toFixed(2)} ms  ` +
              `CPU ${(s.cpuSecondsPerToken * 1000).toFixed(2)} ms/token  peak RSS ${(s.peakRssBytes / 2 ** 20).toFixed(0)} MiB` +
              (m.counts.ok < m.counts.total ? `  (${m.counts.total - m.counts.ok} failed)` : ""),
          );
        }
      },
    });
  } finally {
    for (const w of window.values()) clearInterval(w.timer);
    rmSync(outDir, { recursive: true, force: true });
  }
}

const FIGURES: [keyof Sample, string][] = [
  ["outputTokS", "output tok/s"],
  ["tpotP50", "TPOT p50"],
  ["ttftP50", "TTFT p50"],
  ["ttftP99", "TTFT p99"],
  ["cpuSecondsPerToken", "CPU/token"],
  ["peakRssBytes", "peak RSS"],
];

function ratios(samples: Samples, tfName: string) {
  const out: Record<
    string,
    Record<string, { min: number; median: number; max: number; tf: number; ls: number }>
  > = {};
  for (const [workload, perServer] of samples) {
    const tf = perServer.get(tfName) ?? [];
    const ls = perServer.get(LS) ?? [];
    const n = Math.min(tf.length, ls.length);
    out[workload] = {};
    for (const [key] of FIGURES) {
      // Repeat r of the worker against repeat r of llama-server: the pair ran back to back.
      const rs = Array.from({ length: n }, (_, r) => tf[r]![key] / ls[r]![key]);
      out[workload]![key] = {
        min: Math.min(...rs),
        median: median(rs),
        max: Math.max(...rs),
        tf: median(tf.map((s) => s[key])),
        ls: median(ls.map((s) => s[key])),
      };
    }
  }
  return out;
}

const fmt = (r: { min: number; median: number; max: number }) =>
  `${r.median.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)})`;

const report: Record<string, unknown> = {};
for (const preset of models) {
  for (const quant of quants) {
    const model = `synthetic:${preset}?quant=${quant}`;
    const resolved = await resolveModel(model, { cacheDir: env.modelCacheDir });
    log(`\n${model} (${resolved.path})`);
    const noRepack = amx && quant !== "f16";
    const servers: PinnedServer[] = [];
    try {
      for (const [i, binary] of workerBinaries.entries()) {
        servers.push(
          await startPinnedServer({
            name: tfName(binary, i),
            cpus: serverCpus,
            command: process.execPath,
            args: (port) => workerArgs(workerCli, model, port, settings, binary),
            healthPath: "/health",
            env: { TOKENFORGE_MODEL_CACHE: env.modelCacheDir },
          }),
        );
      }
      servers.push(
        await startPinnedServer({
          name: LS,
          cpus: serverCpus,
          command: build.binary,
          args: (port) => llamaServerArgs(resolved.path, port, settings, noRepack),
          healthPath: "/health",
        }),
      );
      // Which llama.cpp build each worker loaded (its /health engineVersion says).
      const builds: Record<string, string> = {
        [LS]: `llama-server ${build.release} (${build.commit.slice(0, 12)})`,
      };
      for (const srv of servers.filter((x) => x.name !== LS)) {
        const health = (await (await fetch(`${srv.url}/health`)).json()) as { engineVersion?: string };
        builds[srv.name] = health.engineVersion ?? "unknown";
        log(`${srv.name}: ${builds[srv.name]}`);
      }
      const samples: Samples = new Map();
      for (let r = 0; r < repeats; r++) {
        log(`repeat ${r + 1}/${repeats}`);
        await runBoth(
          model,
          servers,
          levels.map((c) => ({
            name: `c${c}`,
            concurrency: c,
            num_requests: Math.max(quick ? 2 : 4, 2) * c,
            warmup: { requests: c },
            prompt_len: promptLen,
            gen_tokens: genTokens,
          })),
          samples,
        );
        if (openLoop) {
          const top = samples.get(`c${Math.max(...levels)}`)!;
          const rate = 0.9 * Math.min(...[...TFS, LS].map((n) => top.get(n)!.at(-1)!.requestsPerS));
          await runBoth(
            model,
            servers,
            [
              {
                name: "open",
                qps: Math.round(rate * 100) / 100,
                max_concurrency: parallel,
                duration_s: quick ? 5 : 15,
                warmup: { requests: Math.max(...levels) },
                prompt_len: promptLen,
                gen_tokens: genTokens,
              },
            ],
            samples,
          );
        }
      }
      const perBuild: Record<string, unknown> = {};
      for (const name of TFS) {
        const r = ratios(samples, name);
        perBuild[name] = r;
        log(`\n${model}: ${name} ÷ llama-server, median (min–max) over ${repeats} repeat(s)`);
        log(`| workload | ${FIGURES.map(([, label]) => label).join(" | ")} |`);
        log(`| --- | ${FIGURES.map(() => "---").join(" | ")} |`);
        for (const [workload, figs] of Object.entries(r)) {
          log(`| ${workload} | ${FIGURES.map(([key]) => fmt(figs[key]!)).join(" | ")} |`);
        }
        log(
          `absolute (median): ${Object.entries(r)
            .map(([w, f]) => `${w} ${f.outputTokS!.tf.toFixed(1)} vs ${f.outputTokS!.ls.toFixed(1)} tok/s`)
            .join("; ")}`,
        );
      }
      report[model] = { ratios: perBuild, noRepack, builds };
    } finally {
      for (const s of servers) await s.stop();
    }
  }
}
writeResult("peer-llama-server", {
  llamaServer: { release: build.release, commit: build.commit },
  settings: {
    threads,
    parallel,
    ctx,
    batch,
    promptLen,
    genTokens,
    levels,
    repeats,
    serverCpus,
    harnessCpus,
    openLoop,
    workerBinaries,
  },
  models: report,
});
