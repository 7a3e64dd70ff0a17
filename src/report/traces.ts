/**
 * Streams `requests.jsonl` once (twice in a rare case) and reduces each workload × runtime to its
 * latency CDFs and its timeline. Latency values are kept only for the group being read: the
 * harness writes each group's lines contiguously, so a group is finished as soon as the next
 * begins. A group whose lines are not contiguous (a file put together by hand) is read again in a
 * second pass, so its curves are still exact.
 */
import { ResultFileError } from "../bench/compare.js";
import { Float32Buffer, Float64Buffer } from "../bench/stats.js";
import { readTraces } from "../bench/trace-io.js";
import type { RequestTrace } from "../bench/types.js";
import { type Curve, cdfCurve } from "./cdf.js";
import { Timeline, type TimelineSeries } from "./timeline.js";

/** The latency CDFs of one group, over ok non-warmup requests (the aggregate's definitions). */
export interface GroupCurves {
  ttft?: Curve;
  tpot?: Curve;
  itl?: Curve;
  e2e?: Curve;
}

export interface GroupTraces {
  curves: GroupCurves;
  timeline?: TimelineSeries;
}

export interface TraceSummary {
  groups: Map<string, GroupTraces>;
  /** Lines read. */
  lines: number;
  /** Lines whose workload × runtime is not in the result (left out). */
  unmatched: number;
}

/** The key of a workload × runtime pair. */
export function groupKey(workload: string, runtime: string): string {
  return JSON.stringify([workload, runtime]);
}

/** Collects the latency values of one group; `finish` sorts them into curves and frees them. */
class LatencyCollector {
  private readonly ttft = new Float64Buffer();
  private readonly tpot = new Float64Buffer();
  private readonly e2e = new Float64Buffer();
  /** One value per chunk gap: float32, as the aggregate keeps them. */
  private readonly itl = new Float32Buffer(1024);

  add(t: RequestTrace): void {
    if (t.warmup || t.outcome !== "ok") return;
    const chunks = t.chunkMs;
    const ttft = chunks.length > 0 ? chunks[0]! - t.sendMs : undefined;
    const e2e = t.endMs !== undefined ? t.endMs - t.sendMs : undefined;
    if (ttft !== undefined) this.ttft.push(ttft);
    if (e2e !== undefined) this.e2e.push(e2e);
    const tokens = t.usage?.completionTokens;
    if (ttft !== undefined && e2e !== undefined && tokens !== undefined && tokens >= 2) {
      this.tpot.push((e2e - ttft) / (tokens - 1));
    }
    for (let i = 1; i < chunks.length; i++) this.itl.push(chunks[i]! - chunks[i - 1]!);
  }

  finish(): GroupCurves {
    const out: GroupCurves = {};
    const put = (name: keyof GroupCurves, values: Float64Array | Float32Array) => {
      const c = cdfCurve(values.sort());
      if (c !== undefined) out[name] = c;
    };
    put("ttft", this.ttft.view());
    put("tpot", this.tpot.view());
    put("itl", this.itl.view());
    put("e2e", this.e2e.view());
    return out;
  }
}

function isNumber(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/** Checks the fields the report reads; a problem names the line. */
function checkTrace(t: unknown, path: string, line: number): asserts t is RequestTrace & Labels {
  const fail = (problem: string): never => {
    throw new ResultFileError(path, `line ${line}: ${problem}`);
  };
  if (typeof t !== "object" || t === null || Array.isArray(t)) return fail("expected a JSON object");
  const r = t as Record<string, unknown>;
  if (typeof r.workload !== "string") fail("workload: expected a string");
  if (typeof r.runtime !== "string") fail("runtime: expected a string");
  if (!isNumber(r.sendMs)) fail("sendMs: expected a number");
  if (r.endMs !== undefined && !isNumber(r.endMs)) fail("endMs: expected a number");
  if (!Array.isArray(r.chunkMs) || !r.chunkMs.every(isNumber)) fail("chunkMs: expected an array of numbers");
  if (r.outcome !== "ok" && r.outcome !== "error" && r.outcome !== "incomplete") {
    fail(`outcome: expected "ok", "error" or "incomplete", got ${JSON.stringify(r.outcome)}`);
  }
  const usage = r.usage as Record<string, unknown> | undefined;
  if (
    usage !== undefined &&
    (typeof usage !== "object" || usage === null || !isNumber(usage.completionTokens))
  ) {
    fail("usage.completionTokens: expected a number");
  }
}

interface Labels {
  workload: string;
  runtime: string;
}

/** Yields the checked lines of `path`; a line that is not JSON is a ResultFileError naming it. */
function* checkedTraces(path: string): Generator<RequestTrace & Labels> {
  let line = 0;
  const it = readTraces(path);
  while (true) {
    let next: IteratorResult<RequestTrace>;
    try {
      next = it.next();
    } catch (err) {
      if (err instanceof SyntaxError)
        throw new ResultFileError(path, `line ${line + 1}: not valid JSON (${err.message})`);
      const code = (err as NodeJS.ErrnoException).code;
      throw new ResultFileError(path, `cannot read (${code ?? (err as Error).message})`);
    }
    if (next.done) return;
    line++;
    checkTrace(next.value, path, line);
    yield next.value;
  }
}

/**
 * Reduces the traces of the groups in `origins` (key → the group's window start, ms, which its
 * timeline counts seconds from). Lines of other groups are counted in `unmatched`.
 */
export function readTraceGroups(path: string, origins: ReadonlyMap<string, number>): TraceSummary {
  const timelines = new Map<string, Timeline>();
  const curves = new Map<string, GroupCurves>();
  const split = new Set<string>();
  let current: { key: string; values: LatencyCollector } | undefined;
  let lines = 0;
  let unmatched = 0;

  for (const t of checkedTraces(path)) {
    lines++;
    const key = groupKey(t.workload, t.runtime);
    const origin = origins.get(key);
    if (origin === undefined) {
      unmatched++;
      continue;
    }
    let timeline = timelines.get(key);
    if (timeline === undefined) {
      timeline = new Timeline(origin);
      timelines.set(key, timeline);
    }
    timeline.add(t);
    if (split.has(key)) continue;
    if (current?.key !== key) {
      if (current !== undefined) curves.set(current.key, current.values.finish());
      current = undefined;
      if (curves.has(key)) {
        // Seen before and already finished: read this group again at the end.
        curves.delete(key);
        split.add(key);
        continue;
      }
      current = { key, values: new LatencyCollector() };
    }
    current.values.add(t);
  }
  if (current !== undefined) curves.set(current.key, current.values.finish());

  if (split.size > 0) {
    const again = new Map([...split].map((k) => [k, new LatencyCollector()]));
    for (const t of checkedTraces(path)) again.get(groupKey(t.workload, t.runtime))?.add(t);
    for (const [k, c] of again) curves.set(k, c.finish());
  }

  const groups = new Map<string, GroupTraces>();
  for (const [key, timeline] of timelines) {
    const series = timeline.finish();
    groups.set(key, { curves: curves.get(key) ?? {}, ...(series === undefined ? {} : { timeline: series }) });
  }
  return { groups, lines, unmatched };
}
