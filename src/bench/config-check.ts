/**
 * The cross-field rules of a workload config, checked beside the schema on whatever parts are
 * well-formed: runtimes listed twice or unknown, targets of no listed runtime, one loop per
 * workload, exclusive keys, distributions whose min exceeds their max, a prefix longer than the
 * shortest prompt, dataset files that do not exist, and latency SLOs without streaming.
 */
import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { type ConfigProblem, isPlainObject, joinPath } from "./schema-problems.js";
import { MAX_TURNS } from "./sessions.js";
import { parseTrace } from "./trace-replay.js";

export function crossCheck(
  raw: unknown,
  baseDir: string,
  knownRuntimes: readonly string[] | undefined,
  problems: ConfigProblem[],
): void {
  if (!isPlainObject(raw)) return;
  const add = (path: string, message: string) => problems.push({ path, message });
  const runtimes = Array.isArray(raw.runtimes) ? raw.runtimes : [];
  runtimes.forEach((name, i) => {
    if (typeof name !== "string") return;
    if (runtimes.indexOf(name) < i) add(joinPath("runtimes", i), `"${name}" is listed twice`);
    if (knownRuntimes && !knownRuntimes.includes(name)) {
      add(joinPath("runtimes", i), `unknown runtime "${name}"; known: ${knownRuntimes.join(", ")}`);
    }
  });
  if (isPlainObject(raw.targets)) {
    for (const [name, target] of Object.entries(raw.targets)) {
      const path = joinPath("targets", name);
      const url = isPlainObject(target) ? target.url : target;
      if (runtimes.length > 0 && !runtimes.includes(name)) {
        add(path, `"${name}" is not one of runtimes (${[...new Set(runtimes)].join(", ")})`);
      }
      if (typeof url === "string" && /^https?:\/\//.test(url) && !URL.canParse(url)) {
        add(path, `not a valid URL: ${url}`);
      }
    }
  }
  const workloads = Array.isArray(raw.workloads) ? raw.workloads : [];
  const firstIndex = new Map<string, number>();
  workloads.forEach((w, i) => {
    if (!isPlainObject(w)) return;
    const path = joinPath("workloads", i);
    if (typeof w.name === "string") {
      const first = firstIndex.get(w.name);
      if (first === undefined) firstIndex.set(w.name, i);
      else add(joinPath(path, "name"), `duplicate name "${w.name}" (also workloads[${first}])`);
    }
    checkWorkload(w, path, isPlainObject(raw.slo) ? raw.slo : {}, baseDir, add);
  });
}

function checkWorkload(
  w: Record<string, unknown>,
  path: string,
  topSlo: Record<string, unknown>,
  baseDir: string,
  add: (path: string, message: string) => void,
): void {
  const at = (key: string) => joinPath(path, key);
  const has = (key: string) => w[key] !== undefined;
  // The schema leaves the lengths optional because a trace gives its own.
  if (!has("trace")) {
    for (const key of ["prompt_len", "gen_tokens"]) if (!has(key)) add(at(key), "is required");
  }
  if (has("sweep")) {
    for (const key of ["qps", "concurrency"]) {
      if (has(key)) add(at(key), "must be absent with sweep (the sweep chooses the rates)");
    }
    checkSearch(w, topSlo, at("sweep"), add);
  } else if (has("trace")) {
    checkTrace(w, at, baseDir, add);
  } else if (has("ramp")) {
    checkRamp(w, at, add);
  } else if (has("qps") && has("concurrency")) {
    add(at("concurrency"), "qps (open loop) and concurrency (closed loop) are mutually exclusive: give one");
  } else if (!has("qps") && !has("concurrency")) {
    add(path, 'give one of qps (a number > 0, "inf" or "max"), concurrency, sweep, ramp or trace');
  }
  if (has("concurrency") && has("max_concurrency")) {
    add(at("max_concurrency"), "applies to open loop (qps); with concurrency the loop is already capped");
  }
  if (has("concurrency") && has("arrival")) {
    add(at("arrival"), "applies to open loop (qps); a closed loop sends each request when one finishes");
  }
  if (has("duration_s") && has("num_requests") && !has("ramp")) {
    add(at("num_requests"), "duration_s and num_requests are mutually exclusive: give one");
  }
  if ((w.qps === "inf" || w.qps === "max") && has("duration_s") && !has("max_concurrency")) {
    add(
      at("duration_s"),
      `with qps "${w.qps}" every request is sent at once: give num_requests or max_concurrency`,
    );
  }
  if (
    isPlainObject(w.warmup) &&
    Number(w.warmup.seconds !== undefined) + Number(w.warmup.requests !== undefined) !== 1
  ) {
    add(at("warmup"), "give exactly one of seconds or requests");
  }
  if (has("sessions")) checkSessions(w, at, add);
  checkDistribution(w.prompt_len, at("prompt_len"), add);
  checkDistribution(w.gen_tokens, at("gen_tokens"), add);
  if (isPlainObject(w.prefix) && typeof w.prefix.length === "number" && typeof w.prefix.ratio === "number") {
    const { length, ratio } = w.prefix;
    if (ratio > 0 && length === 0) add(joinPath(at("prefix"), "length"), "must be ≥ 1 when ratio > 0");
    const shortest = smallestValue(w.prompt_len);
    if (ratio > 0 && shortest !== undefined && shortest < length) {
      add(
        at("prompt_len"),
        `can be ${shortest} tokens, shorter than prefix.length ${length}: every prompt must hold the prefix` +
          (isPlainObject(w.prompt_len) && "normal" in w.prompt_len ? " (set normal.min)" : ""),
      );
    }
  }
  checkDataset(w.dataset, at("dataset"), baseDir, add);
  if (w.stream === false) {
    const slo = { ...topSlo, ...(isPlainObject(w.slo) ? w.slo : {}) };
    const needsStream = ["ttft_ms", "tpot_ms"].filter((k) => slo[k] !== undefined);
    if (needsStream.length > 0) {
      add(
        at("stream"),
        `must be true with the ${needsStream.join(" and ")} SLO: without streaming it cannot be measured`,
      );
    }
  }
}

/** Sessions run open loop (qps: sessions/s) or as users (concurrency), and count sessions, not requests. */
function checkSessions(
  w: Record<string, unknown>,
  at: (key: string) => string,
  add: (path: string, message: string) => void,
): void {
  for (const key of ["sweep", "ramp", "num_requests", "warmup", "prefix", "dataset"]) {
    if (w[key] !== undefined)
      add(at(key), `is not supported with sessions${key === "num_requests" ? " (give sessions.count)" : ""}`);
  }
  if (w.qps === "inf" || w.qps === "max")
    add(at("qps"), "must be a number with sessions: the sessions' arrival rate");
  const s = w.sessions;
  if (!isPlainObject(s)) return;
  if (s.count !== undefined && w.duration_s !== undefined) {
    add(joinPath(at("sessions"), "count"), "sessions.count and duration_s are mutually exclusive: give one");
  }
  checkDistribution(s.turns, joinPath(at("sessions"), "turns"), add);
  checkDistribution(s.think_ms, joinPath(at("sessions"), "think_ms"), add);
  const most = largestValue(s.turns);
  if (most !== undefined && most > MAX_TURNS) {
    add(joinPath(at("sessions"), "turns"), `can draw ${most} turns; at most ${MAX_TURNS} (set normal.max)`);
  }
}

/** The most a well-formed distribution can draw; Infinity for a normal without max. */
function largestValue(d: unknown): number | undefined {
  if (typeof d === "number") return d;
  if (!isPlainObject(d)) return undefined;
  if (Array.isArray(d.uniform) && typeof d.uniform[1] === "number") return d.uniform[1];
  if (isPlainObject(d.normal))
    return typeof d.normal.max === "number" ? d.normal.max : Number.POSITIVE_INFINITY;
  if (Array.isArray(d.list) && d.list.every((v) => typeof v === "number"))
    return Math.max(...(d.list as number[]));
  return undefined;
}

/** A trace sets the schedule and every length; its file must parse. */
function checkTrace(
  w: Record<string, unknown>,
  at: (key: string) => string,
  baseDir: string,
  add: (path: string, message: string) => void,
): void {
  const others = ["qps", "concurrency", "sweep", "ramp", "sessions", "num_requests", "duration_s", "warmup"];
  for (const key of [...others, "prompt_len", "gen_tokens", "prefix", "dataset", "arrival"]) {
    if (w[key] !== undefined)
      add(at(key), "must be absent with trace (the trace gives the schedule and the lengths)");
  }
  const t = w.trace;
  if (!isPlainObject(t) || typeof t.path !== "string" || t.path === "") return;
  const path = joinPath(at("trace"), "path");
  const file = resolve(baseDir, t.path);
  if (!isFile(file)) {
    add(path, `file not found: ${file}`);
    return;
  }
  const format = t.format === "plain" ? "plain" : "mooncake";
  const { problems } = parseTrace(readFileSync(file, "utf8"), format);
  if (problems.length > 0) add(path, `${file} (${format} format): ${problems.join("; ")}`);
}

/** A ramp sets the loop and its length itself; a concurrency ramp is closed loop. */
function checkRamp(
  w: Record<string, unknown>,
  at: (key: string) => string,
  add: (path: string, message: string) => void,
): void {
  for (const key of ["qps", "concurrency", "sweep", "num_requests", "duration_s"]) {
    if (w[key] !== undefined)
      add(at(key), "must be absent with ramp (the ramp sets the load and its duration)");
  }
  const ramp = w.ramp;
  if (!isPlainObject(ramp)) return;
  if ((ramp.qps === undefined) === (ramp.concurrency === undefined)) {
    add(at("ramp"), "give exactly one of qps: [from, to] or concurrency: [from, to]");
  }
  if (ramp.concurrency !== undefined) {
    for (const key of ["arrival", "max_concurrency"]) {
      if (w[key] !== undefined) add(at(key), "applies to open loop; a concurrency ramp is closed loop");
    }
  }
}

/** A search needs an SLO to search under, and a start rate within its ceiling. */
function checkSearch(
  w: Record<string, unknown>,
  topSlo: Record<string, unknown>,
  path: string,
  add: (path: string, message: string) => void,
): void {
  const search = isPlainObject(w.sweep) ? w.sweep.search : undefined;
  if (!isPlainObject(search)) return;
  const slo = { ...topSlo, ...(isPlainObject(w.slo) ? w.slo : {}) };
  if (!["ttft_ms", "tpot_ms", "e2e_ms"].some((k) => slo[k] !== undefined)) {
    add(
      joinPath(path, "search"),
      "needs an slo (ttft_ms, tpot_ms or e2e_ms, on the workload or at the top level) to search under",
    );
  }
  const { start_qps: start, max_qps: max } = search;
  if (typeof start === "number" && typeof max === "number" && start > max) {
    add(joinPath(joinPath(path, "search"), "start_qps"), `${start} is greater than max_qps ${max}`);
  }
}

function checkDistribution(d: unknown, path: string, add: (path: string, message: string) => void): void {
  if (!isPlainObject(d)) return;
  const uniform = d.uniform;
  if (Array.isArray(uniform) && typeof uniform[0] === "number" && typeof uniform[1] === "number") {
    if (uniform[0] > uniform[1])
      add(joinPath(path, "uniform"), `min ${uniform[0]} is greater than max ${uniform[1]}`);
  }
  const normal = d.normal;
  if (isPlainObject(normal) && typeof normal.min === "number" && typeof normal.max === "number") {
    if (normal.min > normal.max)
      add(joinPath(path, "normal"), `min ${normal.min} is greater than max ${normal.max}`);
  }
}

/** The fewest tokens a well-formed distribution can draw; undefined when it is not well-formed. */
function smallestValue(d: unknown): number | undefined {
  if (typeof d === "number") return d;
  if (!isPlainObject(d)) return undefined;
  if (Array.isArray(d.uniform) && typeof d.uniform[0] === "number") return d.uniform[0];
  if (isPlainObject(d.normal)) return typeof d.normal.min === "number" ? d.normal.min : 1;
  if (Array.isArray(d.list) && d.list.length > 0 && d.list.every((v) => typeof v === "number")) {
    return Math.min(...(d.list as number[]));
  }
  return undefined;
}

function checkDataset(
  d: unknown,
  path: string,
  baseDir: string,
  add: (path: string, message: string) => void,
): void {
  if (!isPlainObject(d)) return;
  for (const key of ["sharegpt", "jsonl"]) {
    const p = d[key];
    if (typeof p !== "string" || p === "") continue;
    const file = resolve(baseDir, p);
    if (!isFile(file)) add(joinPath(path, key), `file not found: ${file}`);
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
