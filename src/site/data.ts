/**
 * The published results site's data: one entry per (run, workload, runtime), a history of the
 * last N runs per model and engine, and every cost recomputed from the cost profile given at
 * publish time (by bench/cost.ts's formula), so publishing again with a new price updates every
 * figure.
 */
import { costPer1M } from "../bench/cost.js";
import type { BenchResult } from "../bench/run.js";
import type { CostProfile } from "../bench/types.js";

export const SITE_SCHEMA = "tokenforge.site.results/v1";

export interface SiteEntry {
  /** `model | engine`: what a history is kept per. */
  key: string;
  runId: string;
  date: string;
  status: BenchResult["status"];
  model: string;
  runtime: string;
  engine: string;
  workload: string;
  hardware: string;
  requests: { ok: number; total: number };
  /** Prefill: input tokens per second of the measured window (server usage). */
  prefillTokensPerS?: number;
  /** Decode: output tokens per second of the measured window (server usage). */
  decodeTokensPerS?: number;
  requestsPerS?: number;
  ttftP50Ms?: number;
  tpotP50Ms?: number;
  e2eP99Ms?: number;
  cost?: { per1MInput?: number; per1MOutput?: number };
}

export interface SiteData {
  schema: typeof SITE_SCHEMA;
  generatedAt: string;
  /** Runs kept per key. */
  history: number;
  costProfile?: CostProfile & { source: string };
  entries: SiteEntry[];
}

/** The entries a result contributes, before costs. */
export function entriesOf(result: BenchResult): SiteEntry[] {
  const engineOf = (runtime: string) => {
    const health = result.targets.find((t) => t.runtime === runtime)?.health as
      | { engineVersion?: unknown }
      | undefined;
    return typeof health?.engineVersion === "string" ? health.engineVersion : runtime;
  };
  const env = result.environment;
  const hardware = `${env.cpuCount} × ${env.cpuModel}, ${Math.round(env.memoryBytes / 2 ** 30)} GiB`;
  return result.results
    .filter((r) => r.sweep === undefined || r.sweep.kind === "throughput")
    .map((r) => {
      const engine = engineOf(r.runtime);
      const m = r.metrics;
      const entry: SiteEntry = {
        key: `${result.config.model} | ${engine}`,
        runId: result.id,
        date: result.startedAt,
        status: result.status,
        model: result.config.model,
        runtime: r.runtime,
        engine,
        workload: r.workload,
        hardware,
        requests: { ok: m.counts.ok, total: m.counts.total },
      };
      if (m.inputTokenThroughput !== undefined) entry.prefillTokensPerS = m.inputTokenThroughput;
      if (m.outputTokenThroughput !== undefined) entry.decodeTokensPerS = m.outputTokenThroughput;
      if (m.requestThroughput !== undefined) entry.requestsPerS = m.requestThroughput;
      if (m.ttftMs) entry.ttftP50Ms = m.ttftMs.p50;
      if (m.tpotMs) entry.tpotP50Ms = m.tpotMs.p50;
      if (m.e2eMs) entry.e2eP99Ms = m.e2eMs.p99;
      return entry;
    });
}

/**
 * Merges new entries into the previous site data (same run, workload and runtime replaced), keeps
 * the newest `history` runs per key, and prices every entry with `cost` (else the previous
 * profile, else none).
 */
export function buildSite(
  previous: SiteData | undefined,
  added: SiteEntry[],
  opts: { history: number; cost?: CostProfile & { source: string }; now?: Date },
): SiteData {
  const id = (e: SiteEntry) => `${e.runId}\u0000${e.workload}\u0000${e.runtime}`;
  const all = new Map<string, SiteEntry>();
  for (const e of previous?.entries ?? []) all.set(id(e), e);
  for (const e of added) all.set(id(e), e);
  const byKey = new Map<string, SiteEntry[]>();
  for (const e of all.values()) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
  const kept: SiteEntry[] = [];
  for (const entries of byKey.values()) {
    const runs = [...new Set(entries.map((e) => `${e.date}\u0000${e.runId}`))]
      .sort()
      .reverse()
      .slice(0, opts.history);
    const keep = new Set(runs.map((r) => r.split("\u0000")[1]));
    kept.push(...entries.filter((e) => keep.has(e.runId)));
  }
  const cost = opts.cost ?? previous?.costProfile;
  const priced = kept.map((e) => {
    const { cost: _old, ...rest } = e;
    if (!cost) return rest;
    const per1MInput = costPer1M(cost.dollarsPerHour, e.prefillTokensPerS);
    const per1MOutput = costPer1M(cost.dollarsPerHour, e.decodeTokensPerS);
    return {
      ...rest,
      cost: {
        ...(per1MInput === undefined ? {} : { per1MInput }),
        ...(per1MOutput === undefined ? {} : { per1MOutput }),
      },
    };
  });
  priced.sort((a, b) => (a.date === b.date ? a.key.localeCompare(b.key) : b.date.localeCompare(a.date)));
  return {
    schema: SITE_SCHEMA,
    generatedAt: (opts.now ?? new Date()).toISOString(),
    history: opts.history,
    ...(cost === undefined ? {} : { costProfile: cost }),
    entries: priced,
  };
}

/** The newest entry per key: the headline of the index page. */
export function headline(site: SiteData): SiteEntry[] {
  const seen = new Set<string>();
  const out: SiteEntry[] = [];
  for (const e of site.entries) {
    if (seen.has(e.key)) continue;
    seen.add(e.key);
    out.push(...site.entries.filter((x) => x.key === e.key && x.runId === e.runId));
  }
  return out;
}
