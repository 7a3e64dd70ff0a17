/**
 * The worker at 4× its sustainable rate: does admission keep the admitted fast and refuse the
 * rest at once, with memory bounded, and does the worker recover afterwards?
 *
 *   npx tsx bench/overload.ts [--models synthetic:tiny,synthetic:llama-100m] [--overload-s 60]
 *                             [--parallel 4] [--tokens 32] [--threads 1] [--seed 1]
 *
 * Per model, on one worker process (`tokenforge worker`, started from the sources with tsx):
 * 1. capacity: a closed loop of `--parallel` streams for a few seconds gives the completion rate
 *    X of a full batch;
 * 2. sustainable rate: open-loop Poisson arrivals at 0.8X, 0.65X, 0.5X (stopping at the first
 *    that passes): every request served, none refused, and no queue building up (p99 TTFT within
 *    3× its p50, or 50 ms of it). Its p99 TTFT is the unloaded reference;
 * 3. overload, twice: with the default admission (`--max-waiting` = 2 × parallel), then on a fresh
 *    worker with a queue-time budget (`--max-queue-ms` = step 2's p99 TTFT). Each time the worker
 *    first runs the sustainable rate for `--phase-s` ("before": the unloaded reference in the same
 *    process), then 4× that rate for `--overload-s`: admitted p99 TTFT against 2× the unloaded
 *    p99, the fraction refused with 429 (on arrival, or after waiting out the budget), the time to
 *    the status line of those refused on arrival beside a GET /health's round trip, and the
 *    worker's RSS every 0.5 s;
 * 4. recovery: 2 s later, the sustainable rate again, against "before".
 *
 * Figures are ratios within one run; the machine is shared, so absolute times are noisy.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Agent, request } from "undici";
import { freePort } from "../src/control/local/free-port.js";
import { Xoshiro128 } from "../src/models/prng.js";
import { writeResult } from "./lib/result.js";
import { rssOf } from "./lib/worker-process.js";

const { values } = parseArgs({
  options: {
    models: { type: "string", default: "synthetic:tiny,synthetic:llama-100m" },
    "overload-s": { type: "string", default: "60" },
    "phase-s": { type: "string", default: "15" },
    parallel: { type: "string", default: "4" },
    tokens: { type: "string", default: "32" },
    threads: { type: "string", default: "1" },
    seed: { type: "string", default: "1" },
  },
});
const OVERLOAD_S = Number(values["overload-s"]);
const PHASE_S = Number(values["phase-s"]);
const PARALLEL = Number(values.parallel);
const TOKENS = Number(values.tokens);
const ROOT = join(import.meta.dirname, "..");
const CACHE = join(ROOT, ".tokenforge", "test-models");
const PROMPT =
  "Benchmarks of language model serving measure how quickly tokens come back to the client, and what happens when more arrive than fit.";
const agent = new Agent({ connections: null, pipelining: 1 });

interface Worker {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function startWorker(model: string, extra: string[]): Promise<Worker> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "src", "cli", "tokenforge.ts"),
      "worker",
      "--model",
      model,
      "--port",
      String(port),
      "--gpu",
      "off",
      "--parallel",
      String(PARALLEL),
      "--ctx-size",
      "512",
      "--threads",
      values.threads!,
      ...extra,
    ],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, TOKENFORGE_MODEL_CACHE: CACHE } },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + 300_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`worker exited ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${url}/health`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`worker not ready: ${stderr}`);
    await sleep(200);
  }
  return {
    url,
    pid: child.pid!,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One request as the client saw it; times in ms from its send. */
interface Outcome {
  status: number;
  /** Status line received. */
  headersMs: number;
  /** First body byte of a 200 stream (the first token: completions send no role chunk). */
  ttftMs?: number;
  endMs: number;
  /** Sent late by this much behind its schedule. */
  lagMs: number;
  /** A 429's kind, from its message: refused on arrival, or after waiting out the budget. */
  refusal?: "on_arrival" | "after_wait";
}

async function send(url: string, scheduled: number): Promise<Outcome> {
  const sent = performance.now();
  try {
    const res = await request(`${url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        prompt: PROMPT,
        max_tokens: TOKENS,
        ignore_eos: true,
        temperature: 0,
        stream: true,
      }),
      dispatcher: agent,
    });
    const headersMs = performance.now() - sent;
    let ttftMs: number | undefined;
    let text = "";
    for await (const chunk of res.body) {
      ttftMs ??= performance.now() - sent;
      if (res.statusCode !== 200) text += chunk.toString();
    }
    return {
      status: res.statusCode,
      headersMs,
      ...(res.statusCode === 200 && ttftMs !== undefined ? { ttftMs } : {}),
      ...(res.statusCode === 429
        ? {
            refusal: text.includes("no sequence became free")
              ? ("after_wait" as const)
              : ("on_arrival" as const),
          }
        : {}),
      endMs: performance.now() - sent,
      lagMs: sent - scheduled,
    };
  } catch {
    return { status: 0, headersMs: Number.NaN, endMs: performance.now() - sent, lagMs: sent - scheduled };
  }
}

/** Open-loop Poisson arrivals at `rate` req/s for `seconds`, seeded. */
async function openLoop(url: string, rate: number, seconds: number, seed: number): Promise<Outcome[]> {
  const rng = new Xoshiro128(seed);
  const t0 = performance.now();
  const pending: Promise<Outcome>[] = [];
  let at = 0;
  for (;;) {
    at += (-Math.log(1 - rng.next()) / rate) * 1000;
    if (at > seconds * 1000) break;
    const wait = t0 + at - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(send(url, t0 + at));
  }
  return Promise.all(pending);
}

/** A closed loop of `streams` clients for `seconds`: completions per second of a full batch. */
async function capacity(url: string, streams: number, seconds: number): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: streams }, async () => {
      while (performance.now() < end) {
        const o = await send(url, performance.now());
        if (o.status === 200) done++;
      }
    }),
  );
  return (done * 1000) / (performance.now() - t0);
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

interface Summary {
  offeredRate: number;
  sent: number;
  ok: number;
  refused: number;
  other: number;
  /** Refused on arrival (past --max-waiting, or an expected wait past the budget). */
  refusedOnArrival: number;
  /** Refused after waiting out --max-queue-ms. */
  refusedAfterWait: number;
  ttftP50: number;
  ttftP99: number;
  /** Time to the status line of those refused on arrival. */
  refusedP50: number;
  refusedP99: number;
  refusedWithin10ms: number;
  lagP99: number;
}

function summarize(outcomes: Outcome[], rate: number): Summary {
  const ok = outcomes.filter((o) => o.status === 200);
  const refused = outcomes.filter((o) => o.status === 429);
  const onArrival = refused.filter((o) => o.refusal === "on_arrival");
  const ttft = ok.flatMap((o) => (o.ttftMs === undefined ? [] : [o.ttftMs]));
  const refusedMs = onArrival.map((o) => o.headersMs);
  return {
    offeredRate: rate,
    sent: outcomes.length,
    ok: ok.length,
    refused: refused.length,
    other: outcomes.length - ok.length - refused.length,
    refusedOnArrival: onArrival.length,
    refusedAfterWait: refused.length - onArrival.length,
    ttftP50: pct(ttft, 50),
    ttftP99: pct(ttft, 99),
    refusedP50: pct(refusedMs, 50),
    refusedP99: pct(refusedMs, 99),
    refusedWithin10ms:
      onArrival.length === 0 ? Number.NaN : refusedMs.filter((x) => x <= 10).length / onArrival.length,
    lagP99: pct(
      outcomes.map((o) => o.lagMs),
      99,
    ),
  };
}

/**
 * While `run` goes: the worker's RSS every 0.5 s, and the round trip of a GET /health every
 * 0.25 s, the cheapest answer the worker gives: the floor a refusal can be compared with on a
 * machine where both the client and the worker wait for a core.
 */
async function withProbes<T>(
  url: string,
  pid: number,
  run: () => Promise<T>,
): Promise<{ result: T; rssMb: number[]; healthMs: number[] }> {
  const rssMb: number[] = [];
  const healthMs: number[] = [];
  const sample = () => rssMb.push(rssOf(pid) / 2 ** 20);
  sample();
  const rssTimer = setInterval(sample, 500);
  const healthTimer = setInterval(() => {
    const t0 = performance.now();
    request(`${url}/health`, { dispatcher: agent })
      .then(async (res) => {
        await res.body.dump();
        healthMs.push(performance.now() - t0);
      })
      .catch(() => undefined);
  }, 250);
  try {
    return { result: await run(), rssMb, healthMs };
  } finally {
    clearInterval(rssTimer);
    clearInterval(healthTimer);
    sample();
  }
}

/** RSS growth over the second half of the samples, MB per minute (0.5 s apart). */
function secondHalfSlope(rssMb: number[]): number {
  const half = rssMb.slice(Math.floor(rssMb.length / 2));
  return half.length < 2 ? Number.NaN : ((half.at(-1)! - half[0]!) / ((half.length - 1) * 0.5)) * 60;
}

async function refusalCounts(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^tokenforge:requests_refused_total\{[^}]*reason="(\w+)"[^}]*\} (\d+)/gm))
    out[m[1]!] = Number(m[2]);
  return out;
}

const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : "—");

interface Run {
  name: string;
  before: Summary;
  overload: Summary;
  rssMb: number[];
  rssSlopeMbPerMin: number;
  healthP50: number;
  healthP99: number;
  reasons: Record<string, number>;
  recovery: Summary;
}

async function benchModel(model: string, seed: number) {
  console.log(`\n== ${model}: parallel ${PARALLEL}, ${TOKENS} tokens per request`);
  let worker = await startWorker(model, []);
  try {
    await send(worker.url, performance.now()); // warm up
    const x = await capacity(worker.url, PARALLEL, Math.max(5, PHASE_S / 2));
    console.log(`capacity (closed loop, ${PARALLEL} streams): ${x.toFixed(2)} req/s`);
    let sustainable: { rate: number; summary: Summary } | undefined;
    for (const factor of [0.8, 0.65, 0.5]) {
      const rate = x * factor;
      const s = summarize(await openLoop(worker.url, rate, PHASE_S, seed), rate);
      // Everything served, and no queue building up (tolerant of a shared machine's noise).
      const passes =
        s.refused === 0 && s.other === 0 && (s.ttftP99 <= 3 * s.ttftP50 || s.ttftP99 <= s.ttftP50 + 50);
      console.log(
        `  ${rate.toFixed(2)} req/s: ok ${s.ok}/${s.sent}, refused ${s.refused}, TTFT p50 ${f(s.ttftP50)} p99 ${f(s.ttftP99)} ms → ${passes ? "sustainable" : "no"}`,
      );
      sustainable = { rate, summary: s };
      if (passes) break;
    }
    const base = sustainable!;
    const budgetMs = Math.max(1, Math.round(base.summary.ttftP99));
    const runs: Run[] = [];
    for (const [name, extra] of [
      ["default admission", []],
      [`--max-queue-ms ${budgetMs}`, ["--max-queue-ms", String(budgetMs)]],
    ] as const) {
      if (runs.length > 0) {
        await worker.stop();
        worker = await startWorker(model, [...extra]);
        await send(worker.url, performance.now());
      }
      // The same worker at the sustainable rate first: the unloaded reference of this run.
      const before = summarize(await openLoop(worker.url, base.rate, PHASE_S, seed + 3), base.rate);
      const rate = 4 * base.rate;
      const probed = await withProbes(worker.url, worker.pid, () =>
        openLoop(worker.url, rate, OVERLOAD_S, seed + 1),
      );
      const overload = summarize(probed.result, rate);
      const reasons = await refusalCounts(worker.url);
      await sleep(2000);
      const recovery = summarize(await openLoop(worker.url, base.rate, PHASE_S, seed + 2), base.rate);
      runs.push({
        name,
        before,
        overload,
        rssMb: probed.rssMb,
        rssSlopeMbPerMin: secondHalfSlope(probed.rssMb),
        healthP50: pct(probed.healthMs, 50),
        healthP99: pct(probed.healthMs, 99),
        reasons,
        recovery,
      });
      console.log(`  ${name}: done (${JSON.stringify(reasons)})`);
    }
    return { model, capacity: x, sustainable: base, budgetMs, runs };
  } finally {
    await worker.stop();
  }
}

const results = [];
for (const [i, model] of values.models!.split(",").entries())
  results.push(await benchModel(model, Number(values.seed) + 10 * i));
await agent.close();

console.log(
  `\nOverload at 4× the sustainable rate for ${OVERLOAD_S} s (parallel ${PARALLEL}, ${TOKENS} tokens, ${values.threads} thread(s)); times in ms; "before" is the same worker at the sustainable rate just before`,
);
const header = [
  "model",
  "admission",
  "sustainable req/s",
  "TTFT p99 before",
  "offered req/s",
  "admitted",
  "admitted TTFT p99",
  "× before",
  "429 on arrival",
  "429 after waiting",
  "429 p50 / p99",
  "429 ≤ 10 ms",
  "GET /health p50 / p99",
  "RSS start → max → end (MB)",
  "RSS slope, 2nd half (MB/min)",
  "recovery TTFT p99 (× before)",
  "recovery ok",
  "client lag p99",
];
console.log(`| ${header.join(" | ")} |`);
console.log(`| ${header.map(() => "---").join(" | ")} |`);
for (const r of results) {
  for (const run of r.runs) {
    const b = run.before;
    const o = run.overload;
    const rec = run.recovery;
    const cells = [
      r.model,
      run.name,
      f(r.sustainable.rate, 2),
      f(b.ttftP99),
      f(o.offeredRate, 2),
      `${o.ok}/${o.sent} (${f((100 * o.ok) / o.sent)} %)`,
      f(o.ttftP99),
      f(o.ttftP99 / b.ttftP99, 1),
      `${f((100 * o.refusedOnArrival) / o.sent)} %`,
      `${f((100 * o.refusedAfterWait) / o.sent)} %`,
      `${f(o.refusedP50, 1)} / ${f(o.refusedP99, 1)}`,
      `${f(100 * o.refusedWithin10ms)} %`,
      `${f(run.healthP50, 1)} / ${f(run.healthP99, 1)}`,
      `${f(run.rssMb[0]!)} → ${f(Math.max(...run.rssMb))} → ${f(run.rssMb.at(-1)!)}`,
      f(run.rssSlopeMbPerMin),
      `${f(rec.ttftP99)} (${f(rec.ttftP99 / b.ttftP99, 1)})`,
      `${rec.ok}/${rec.sent}, ${rec.refused} refused`,
      f(o.lagP99, 1),
    ];
    console.log(`| ${cells.join(" | ")} |`);
  }
}
writeResult("overload", results);
