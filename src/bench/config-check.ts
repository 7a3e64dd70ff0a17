/**
 * The cross-field rules of a workload config, checked beside the schema on whatever parts are
 * well-formed: runtimes listed twice or unknown, targets of no listed runtime, one loop per
 * workload, exclusive keys, distributions whose min exceeds their max, a prefix longer than the
 * shortest prompt, dataset files that do not exist, and latency SLOs without streaming.
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { type ConfigProblem, isPlainObject, joinPath } from "./schema-problems.js";

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
  if (has("sweep")) {
    for (const key of ["qps", "concurrency"]) {
      if (has(key)) add(at(key), "must be absent with sweep (the sweep chooses the rates)");
    }
  } else if (has("qps") && has("concurrency")) {
    add(at("concurrency"), "qps (open loop) and concurrency (closed loop) are mutually exclusive: give one");
  } else if (!has("qps") && !has("concurrency")) {
    add(path, 'give one of qps (a number > 0, "inf" or "max"), concurrency or sweep');
  }
  if (has("concurrency") && has("max_concurrency")) {
    add(at("max_concurrency"), "applies to open loop (qps); with concurrency the loop is already capped");
  }
  if (has("concurrency") && has("arrival")) {
    add(at("arrival"), "applies to open loop (qps); a closed loop sends each request when one finishes");
  }
  if (has("duration_s") && has("num_requests")) {
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
