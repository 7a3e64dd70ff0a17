/**
 * The server's own view of a run: samples a target's `GET /metrics` (Prometheus text) every
 * `intervalMs` and keeps a small time series of selected series — vLLM's scheduler gauges, KV
 * cache usage, prefix-cache counters and prefill/decode time histograms (current names, the older
 * `gpu_` names, or TokenForge's `tokenforge:` mirrors) — summarized when the run ends.
 *
 * Sampling is best-effort: a failed scrape is counted, never thrown.
 */
import { request } from "undici";

/** One sample line of the exposition format. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseValue(s: string): number {
  switch (s) {
    case "+Inf":
    case "Inf":
      return Number.POSITIVE_INFINITY;
    case "-Inf":
      return Number.NEGATIVE_INFINITY;
    case "NaN":
      return Number.NaN;
    default:
      return s === "" ? Number.NaN : Number(s);
  }
}

/**
 * A tolerant parser of the Prometheus text format: `name{label="v",...} value [timestamp]` lines;
 * comments, blank lines and lines it cannot read are skipped.
 */
export function parsePrometheusText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const rawLine of text.split("\n")) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    let i = 0;
    while (i < line.length && line[i] !== "{" && line[i] !== " " && line[i] !== "\t") i++;
    const name = line.slice(0, i);
    if (name === "") continue;
    const labels: Record<string, string> = {};
    if (line[i] === "{") {
      i++;
      let ok = false;
      while (i < line.length) {
        while (line[i] === " " || line[i] === ",") i++;
        if (line[i] === "}") {
          i++;
          ok = true;
          break;
        }
        const eq = line.indexOf("=", i);
        if (eq < 0 || line[eq + 1] !== '"') break;
        const key = line.slice(i, eq).trim();
        let j = eq + 2;
        let value = "";
        while (j < line.length && line[j] !== '"') {
          if (line[j] === "\\" && j + 1 < line.length) {
            const c = line[j + 1];
            value += c === "n" ? "\n" : c;
            j += 2;
          } else value += line[j++];
        }
        if (j >= line.length) break;
        labels[key] = value;
        i = j + 1;
      }
      if (!ok) continue;
    }
    const value = parseValue(line.slice(i).trim().split(/\s+/)[0] ?? "");
    if (Number.isNaN(value) && !/^\s*NaN/.test(line.slice(i))) continue;
    out.push({ name, labels, value });
  }
  return out;
}

/** The series sampled, each with its candidate names (current vLLM, older vLLM, TokenForge). */
export const SERVER_SERIES = {
  running: {
    kind: "gauge",
    combine: "sum",
    names: ["vllm:num_requests_running", "tokenforge:num_requests_running"],
  },
  waiting: {
    kind: "gauge",
    combine: "sum",
    names: ["vllm:num_requests_waiting", "tokenforge:num_requests_waiting"],
  },
  kvCacheUsage: {
    kind: "gauge",
    combine: "mean",
    names: ["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc", "tokenforge:kv_cache_usage_perc"],
  },
  prefixCacheHits: {
    kind: "counter",
    combine: "sum",
    names: [
      "vllm:prefix_cache_hits_total",
      "vllm:gpu_prefix_cache_hits_total",
      "tokenforge:prefix_cache_hits_total",
    ],
  },
  prefixCacheQueries: {
    kind: "counter",
    combine: "sum",
    names: [
      "vllm:prefix_cache_queries_total",
      "vllm:gpu_prefix_cache_queries_total",
      "tokenforge:prefix_cache_queries_total",
    ],
  },
  prefillTimeSum: {
    kind: "counter",
    combine: "sum",
    names: ["vllm:request_prefill_time_seconds_sum", "tokenforge:request_prefill_time_seconds_sum"],
  },
  prefillTimeCount: {
    kind: "counter",
    combine: "sum",
    names: ["vllm:request_prefill_time_seconds_count", "tokenforge:request_prefill_time_seconds_count"],
  },
  decodeTimeSum: {
    kind: "counter",
    combine: "sum",
    names: ["vllm:request_decode_time_seconds_sum", "tokenforge:request_decode_time_seconds_sum"],
  },
  decodeTimeCount: {
    kind: "counter",
    combine: "sum",
    names: ["vllm:request_decode_time_seconds_count", "tokenforge:request_decode_time_seconds_count"],
  },
} as const satisfies Record<
  string,
  { kind: "gauge" | "counter"; combine: "sum" | "mean"; names: readonly string[] }
>;

export type ServerSeriesKey = keyof typeof SERVER_SERIES;
const KEYS = Object.keys(SERVER_SERIES) as ServerSeriesKey[];

/** One scrape: each series' value (summed or averaged over label sets) and the name it was found under. */
export interface ServerScrape {
  values: Partial<Record<ServerSeriesKey, number>>;
  found: Partial<Record<ServerSeriesKey, string>>;
}

/** Picks the selected series out of an exposition; the first candidate name present wins. */
export function extractServerSeries(text: string): ServerScrape {
  const byName = new Map<string, number[]>();
  for (const s of parsePrometheusText(text)) {
    const list = byName.get(s.name);
    if (list) list.push(s.value);
    else byName.set(s.name, [s.value]);
  }
  const scrape: ServerScrape = { values: {}, found: {} };
  for (const key of KEYS) {
    const spec = SERVER_SERIES[key];
    for (const name of spec.names) {
      const vs = byName.get(name);
      if (!vs || vs.length === 0) continue;
      const sum = vs.reduce((a, b) => a + b, 0);
      scrape.values[key] = spec.combine === "mean" ? sum / vs.length : sum;
      scrape.found[key] = name;
      break;
    }
  }
  return scrape;
}

export interface SeriesStats {
  kind: "gauge" | "counter";
  /** The metric name it was read from (current or older generation). */
  name: string;
  samples: number;
  min: number;
  mean: number;
  max: number;
  /** Counters: the value at the first and last scrape, and their difference (the run's share). */
  first?: number;
  last?: number;
  delta?: number;
}

export interface ServerMetricsSummary {
  url: string;
  intervalMs: number;
  /** Scrapes that answered, and those that failed. */
  scrapes: number;
  failures: number;
  durationMs: number;
  /** Which metric names were found, per series. */
  found: Partial<Record<ServerSeriesKey, string>>;
  /** "vllm" (current names), "vllm-legacy" (older `gpu_` names), "tokenforge", or "mixed". */
  generation?: "vllm" | "vllm-legacy" | "tokenforge" | "mixed";
  series: Partial<Record<ServerSeriesKey, SeriesStats>>;
  /** Prefix-cache hits over queries during the run (counter deltas); absent with no queries. */
  prefixCacheHitRate?: number;
  /** Mean prefill and decode time per request finished during the run, seconds. */
  meanPrefillSeconds?: number;
  meanDecodeSeconds?: number;
}

export interface ServerMetricsSampler {
  /** Stops sampling, takes one last scrape and summarizes. Never rejects. */
  stop(): Promise<ServerMetricsSummary>;
}

export interface SamplerOptions {
  /** Default 1000. */
  intervalMs?: number;
  /** Per-scrape timeout; default min(intervalMs, 2000), at least 200. */
  timeoutMs?: number;
  headers?: Record<string, string>;
}

function metricsUrl(url: string): string {
  return `${url.replace(/\/+$/, "")}/metrics`;
}

async function scrape(
  url: string,
  timeoutMs: number,
  headers?: Record<string, string>,
): Promise<ServerScrape> {
  const res = await request(metricsUrl(url), {
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    ...(headers === undefined ? {} : { headers }),
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}`);
  return extractServerSeries(text);
}

/** True when `url` answers `GET /metrics` with at least one of the sampled series. Never rejects. */
export async function probeServerMetrics(
  url: string,
  options: { timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<boolean> {
  try {
    const s = await scrape(url, options.timeoutMs ?? 2000, options.headers);
    return Object.keys(s.found).length > 0;
  } catch {
    return false;
  }
}

function generationOf(found: Partial<Record<ServerSeriesKey, string>>): ServerMetricsSummary["generation"] {
  const gens = new Set<string>();
  for (const name of Object.values(found)) {
    if (name === undefined) continue;
    if (name.startsWith("tokenforge:")) gens.add("tokenforge");
    else if (name.startsWith("vllm:gpu_")) gens.add("vllm-legacy");
    else gens.add("vllm");
  }
  // running/waiting kept their names across generations: one older name marks the older one.
  if (gens.has("vllm-legacy")) gens.delete("vllm");
  if (gens.size === 0) return undefined;
  if (gens.size === 1) return [...gens][0] as ServerMetricsSummary["generation"];
  return "mixed";
}

/** Summarizes a series of scrapes (exported for tests). */
export function summarizeScrapes(
  scrapes: readonly ServerScrape[],
  meta: { url: string; intervalMs: number; failures: number; durationMs: number },
): ServerMetricsSummary {
  const found: Partial<Record<ServerSeriesKey, string>> = {};
  const series: Partial<Record<ServerSeriesKey, SeriesStats>> = {};
  for (const key of KEYS) {
    const vs: number[] = [];
    for (const s of scrapes) {
      const v = s.values[key];
      if (v !== undefined && Number.isFinite(v)) {
        vs.push(v);
        found[key] ??= s.found[key];
      }
    }
    if (vs.length === 0) continue;
    const kind = SERVER_SERIES[key].kind;
    const stats: SeriesStats = {
      kind,
      name: found[key] ?? "",
      samples: vs.length,
      min: Math.min(...vs),
      mean: vs.reduce((a, b) => a + b, 0) / vs.length,
      max: Math.max(...vs),
    };
    if (kind === "counter") {
      stats.first = vs[0]!;
      stats.last = vs[vs.length - 1]!;
      // A counter that went down was reset (server restart): count from zero after it.
      stats.delta = stats.last >= stats.first ? stats.last - stats.first : stats.last;
    }
    series[key] = stats;
  }
  const summary: ServerMetricsSummary = {
    url: meta.url,
    intervalMs: meta.intervalMs,
    scrapes: scrapes.length,
    failures: meta.failures,
    durationMs: meta.durationMs,
    found,
    series,
  };
  const gen = generationOf(found);
  if (gen !== undefined) summary.generation = gen;
  const ratio = (num: ServerSeriesKey, den: ServerSeriesKey): number | undefined => {
    const n = series[num]?.delta;
    const d = series[den]?.delta;
    return n !== undefined && d !== undefined && d > 0 ? n / d : undefined;
  };
  const hit = ratio("prefixCacheHits", "prefixCacheQueries");
  if (hit !== undefined) summary.prefixCacheHitRate = hit;
  const prefill = ratio("prefillTimeSum", "prefillTimeCount");
  if (prefill !== undefined) summary.meanPrefillSeconds = prefill;
  const decode = ratio("decodeTimeSum", "decodeTimeCount");
  if (decode !== undefined) summary.meanDecodeSeconds = decode;
  return summary;
}

/**
 * Scrapes `url`/metrics now and then every `intervalMs` (never two at once) until `stop()`, which
 * takes a last scrape so counter deltas cover the whole run.
 */
export function startServerMetricsSampler(url: string, options: SamplerOptions = {}): ServerMetricsSampler {
  const intervalMs = Math.max(10, options.intervalMs ?? 1000);
  const timeoutMs = options.timeoutMs ?? Math.max(200, Math.min(intervalMs, 2000));
  const started = performance.now();
  const scrapes: ServerScrape[] = [];
  let failures = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  const tick = (): void => {
    inFlight = scrape(url, timeoutMs, options.headers).then(
      (s) => {
        scrapes.push(s);
      },
      () => {
        failures++;
      },
    );
    void inFlight.then(() => {
      if (stopped) return;
      timer = setTimeout(tick, intervalMs);
      timer.unref();
    });
  };
  tick();

  let summary: Promise<ServerMetricsSummary> | undefined;
  return {
    stop: () => {
      summary ??= (async () => {
        stopped = true;
        if (timer !== undefined) clearTimeout(timer);
        await inFlight;
        try {
          scrapes.push(await scrape(url, timeoutMs, options.headers));
        } catch {
          failures++;
        }
        return summarizeScrapes(scrapes, {
          url,
          intervalMs,
          failures,
          durationMs: Math.round(performance.now() - started),
        });
      })();
      return summary;
    },
  };
}
