/**
 * The server's own view of a run: samples a target's `GET /metrics` (Prometheus text) every
 * `intervalMs` and keeps a small time series of selected quantities — scheduler gauges, KV cache
 * usage, prefix-cache counters and prefill/decode time histograms — summarized when the run ends.
 * Which series carry each quantity, under which names, is each runtime's own declaration
 * (`RuntimeDefinition.metrics`), handed in as a catalogue.
 *
 * Sampling is best-effort: a failed scrape is counted, never thrown.
 */
import { request } from "undici";
import type { SeriesCatalogue } from "../runtimes/registry.js";
import type { ServerQuantity } from "../spec/runtime.js";
import { parsePrometheusText } from "./prom-text.js";

/** How each quantity is read: a gauge or a counter, and how label sets combine. */
const QUANTITIES: Readonly<Record<ServerQuantity, { kind: "gauge" | "counter"; combine: "sum" | "mean" }>> = {
  running: { kind: "gauge", combine: "sum" },
  waiting: { kind: "gauge", combine: "sum" },
  kvCacheUsage: { kind: "gauge", combine: "mean" },
  prefixCacheHits: { kind: "counter", combine: "sum" },
  prefixCacheQueries: { kind: "counter", combine: "sum" },
  prefillTimeSum: { kind: "counter", combine: "sum" },
  prefillTimeCount: { kind: "counter", combine: "sum" },
  decodeTimeSum: { kind: "counter", combine: "sum" },
  decodeTimeCount: { kind: "counter", combine: "sum" },
};

export type ServerSeriesKey = ServerQuantity;
const KEYS = Object.keys(QUANTITIES) as ServerSeriesKey[];

/** One scrape: each series' value (summed or averaged over label sets) and the name it was found under. */
export interface ServerScrape {
  values: Partial<Record<ServerSeriesKey, number>>;
  found: Partial<Record<ServerSeriesKey, string>>;
}

/** Picks the catalogue's series out of an exposition; the first candidate name present wins. */
export function extractServerSeries(text: string, catalogue: SeriesCatalogue): ServerScrape {
  const byName = new Map<string, number[]>();
  for (const s of parsePrometheusText(text)) {
    const list = byName.get(s.name);
    if (list) list.push(s.value);
    else byName.set(s.name, [s.value]);
  }
  const scrape: ServerScrape = { values: {}, found: {} };
  for (const key of KEYS) {
    for (const { name } of catalogue.series[key] ?? []) {
      const vs = byName.get(name);
      if (!vs || vs.length === 0) continue;
      const sum = vs.reduce((a, b) => a + b, 0);
      scrape.values[key] = QUANTITIES[key].combine === "mean" ? sum / vs.length : sum;
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
  /** The generation of the names found, as the runtimes declare them (e.g. "vllm", "vllm-legacy", "tokenforge"), or "mixed". */
  generation?: string;
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
  /** The series to look for. */
  catalogue: SeriesCatalogue;
  /** Default 1000. */
  intervalMs?: number;
  /** Per-scrape timeout; default min(intervalMs, 2000), at least 200. */
  timeoutMs?: number;
  headers?: Record<string, string>;
}

async function scrape(
  url: string,
  catalogue: SeriesCatalogue,
  timeoutMs: number,
  headers?: Record<string, string>,
): Promise<ServerScrape> {
  const res = await request(`${url.replace(/\/+$/, "")}${catalogue.path}`, {
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    ...(headers === undefined ? {} : { headers }),
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${catalogue.path} answered ${res.statusCode}`);
  return extractServerSeries(text, catalogue);
}

/** True when `url` answers `GET /metrics` with at least one of the sampled series. Never rejects. */
export async function probeServerMetrics(
  url: string,
  options: { catalogue: SeriesCatalogue; timeoutMs?: number; headers?: Record<string, string> },
): Promise<boolean> {
  try {
    const s = await scrape(url, options.catalogue, options.timeoutMs ?? 2000, options.headers);
    return Object.keys(s.found).length > 0;
  } catch {
    return false;
  }
}

function generationOf(
  found: Partial<Record<ServerSeriesKey, string>>,
  catalogue: SeriesCatalogue,
): string | undefined {
  const generation = new Map<string, string>();
  for (const list of Object.values(catalogue.series))
    for (const s of list) generation.set(s.name, s.generation);
  const gens = new Set<string>();
  for (const name of Object.values(found)) {
    const g = name === undefined ? undefined : generation.get(name);
    if (g !== undefined) gens.add(g);
  }
  for (const [older, newer] of Object.entries(catalogue.supersedes)) if (gens.has(older)) gens.delete(newer);
  if (gens.size === 0) return undefined;
  if (gens.size === 1) return [...gens][0];
  return "mixed";
}

/** Summarizes a series of scrapes (exported for tests). */
export function summarizeScrapes(
  scrapes: readonly ServerScrape[],
  meta: { url: string; intervalMs: number; failures: number; durationMs: number },
  catalogue: SeriesCatalogue,
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
    const kind = QUANTITIES[key].kind;
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
  const gen = generationOf(found, catalogue);
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
export function startServerMetricsSampler(url: string, options: SamplerOptions): ServerMetricsSampler {
  const { catalogue } = options;
  const intervalMs = Math.max(10, options.intervalMs ?? 1000);
  const timeoutMs = options.timeoutMs ?? Math.max(200, Math.min(intervalMs, 2000));
  const started = performance.now();
  const scrapes: ServerScrape[] = [];
  let failures = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  const tick = (): void => {
    inFlight = scrape(url, catalogue, timeoutMs, options.headers).then(
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
          scrapes.push(await scrape(url, catalogue, timeoutMs, options.headers));
        } catch {
          failures++;
        }
        return summarizeScrapes(
          scrapes,
          { url, intervalMs, failures, durationMs: Math.round(performance.now() - started) },
          catalogue,
        );
      })();
      return summary;
    },
  };
}
