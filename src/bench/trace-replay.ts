/**
 * Trace replay: a JSONL file of requests with a timestamp, an input length, an output length and
 * optionally the ids of the prompt blocks they share, replayed open-loop at its timestamps
 * (divided by `speedup`). Two formats:
 *
 * - `mooncake`: `{"timestamp": ms, "input_length": n, "output_length": n, "hash_ids": [ids]}`,
 *   the Mooncake trace format, each id standing for a block of `block_tokens` (512) tokens;
 * - `plain`: `{"at_s": s, "prompt_len": n, "gen_tokens": n, "blocks": [ids]}`.
 *
 * A line's prompt is its blocks' text in order, then text of its own, cut to its input length.
 * A block's text depends only on its id (and the seed), so lines that share leading block ids
 * share exactly that prefix, and a shorter last block is a prefix of the full one. The text of a
 * line's own starts with words that encode its line number, so no two lines share more than
 * their blocks.
 */
import { readFileSync } from "node:fs";
import { TokenForgeError } from "../errors.js";
import { hashString } from "../models/prng.js";
import type { LoopMode, Plan, PlannedBody } from "./plan.js";
import type { Calibration } from "./prompts.js";
import { SeededRandom } from "./random.js";
import type { Workload } from "./types.js";

export type TraceFormat = "mooncake" | "plain";

/** One request of a trace, as read. */
export interface TraceLine {
  /** Timestamp in ms, as the file gives it (not yet relative to the first line). */
  atMs: number;
  inputTokens: number;
  outputTokens: number;
  blocks: string[];
}

const BLOCK = hashString("trace-block");
const TAIL = hashString("trace-tail");
/** Words that encode a line's number at the start of its own text. */
const INDEX_WORDS = 4;

/** Parses a trace; every bad line is a problem (`line N: …`), reported all at once. */
export function parseTrace(text: string, format: TraceFormat): { lines: TraceLine[]; problems: string[] } {
  const lines: TraceLine[] = [];
  const problems: string[] = [];
  const keys =
    format === "mooncake"
      ? { at: "timestamp", input: "input_length", output: "output_length", blocks: "hash_ids", scale: 1 }
      : { at: "at_s", input: "prompt_len", output: "gen_tokens", blocks: "blocks", scale: 1000 };
  const rows = text.split("\n");
  let previous = Number.NEGATIVE_INFINITY;
  for (let n = 0; n < rows.length; n++) {
    const raw = rows[n]!.trim();
    if (raw === "") continue;
    const where = `line ${n + 1}`;
    let row: unknown;
    try {
      row = JSON.parse(raw);
    } catch {
      problems.push(`${where}: not a JSON object`);
      continue;
    }
    if (typeof row !== "object" || row === null || Array.isArray(row)) {
      problems.push(`${where}: not a JSON object`);
      continue;
    }
    const r = row as Record<string, unknown>;
    const bad: string[] = [];
    const at = r[keys.at];
    if (typeof at !== "number" || !Number.isFinite(at) || at < 0) bad.push(`${keys.at} must be a number ≥ 0`);
    else if (at < previous) bad.push(`${keys.at} ${at} is earlier than the line before (${previous})`);
    for (const key of [keys.input, keys.output]) {
      const v = r[key];
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1) bad.push(`${key} must be an integer ≥ 1`);
    }
    const blocks = r[keys.blocks];
    const okBlocks =
      blocks === undefined ||
      (Array.isArray(blocks) &&
        blocks.every(
          (b) => (typeof b === "number" && Number.isInteger(b)) || (typeof b === "string" && b !== ""),
        ));
    if (!okBlocks) bad.push(`${keys.blocks} must be a list of integer or string ids`);
    if (bad.length > 0) {
      problems.push(`${where}: ${bad.join("; ")}`);
      if (problems.length >= 20) break;
      continue;
    }
    previous = at as number;
    lines.push({
      atMs: (at as number) * keys.scale,
      inputTokens: r[keys.input] as number,
      outputTokens: r[keys.output] as number,
      blocks: Array.isArray(blocks) ? blocks.map(String) : [],
    });
  }
  if (lines.length === 0 && problems.length === 0) problems.push("holds no requests");
  return { lines, problems };
}

/** Reads and parses a trace file; a bad one throws, naming the field and every bad line. */
export function loadTrace(path: string, format: TraceFormat): TraceLine[] {
  const { lines, problems } = parseTrace(readFileSync(path, "utf8"), format);
  if (problems.length > 0) {
    throw new TokenForgeError("invalid_request", `trace ${path}: ${problems.join("; ")}`, {
      field: "trace.path",
    });
  }
  return lines;
}

/** The plan of a trace workload: its schedule and, per line, its prompt and output length. */
export function buildTracePlan(
  workload: Workload,
  model: string,
  calibration: Calibration,
  lines: readonly TraceLine[],
): Plan {
  const spec = workload.trace!;
  const seed = workload.seed;
  const words = calibration.words;
  const first = lines[0]?.atMs ?? 0;
  const atMs = Float64Array.from(lines, (l) => (l.atMs - first) / spec.speedup);
  const mode: LoopMode = { kind: "open", atMs, burst: false };
  const lineOf = (i: number) => lines[i % lines.length]!;
  const wordCount = (i: number) => Math.max(1, lineOf(i).inputTokens - calibration.overhead);
  /** `own`: no shared blocks (a request outside the measured ones, e.g. the first-request check). */
  const promptText = (i: number, own: boolean): string => {
    const want = wordCount(i);
    const out: string[] = [];
    for (const id of own ? [] : lineOf(i).blocks) {
      if (out.length >= want) break;
      const rng = new SeededRandom(seed >>> 0, hashString(id), BLOCK);
      for (let k = 0; k < spec.blockTokens && out.length < want; k++) {
        out.push(words[Math.floor(rng.next() * words.length)]!);
      }
    }
    let idx = i;
    for (let k = 0; k < INDEX_WORDS && out.length < want; k++) {
      out.push(words[idx % words.length]!);
      idx = Math.floor(idx / words.length);
    }
    const rng = new SeededRandom(seed >>> 0, i >>> 0, TAIL);
    while (out.length < want) out.push(words[Math.floor(rng.next() * words.length)]!);
    return ` ${out.join(" ")}`;
  };
  const modelJson = JSON.stringify(model);
  const streamPart = workload.stream
    ? ',"stream":true,"stream_options":{"include_usage":true}'
    : ',"stream":false';
  const promptTokens = (i: number) => wordCount(i) + calibration.overhead;
  const maxTokens = (i: number) => lineOf(i).outputTokens;
  const request = (i: number, own: boolean): PlannedBody => {
    const text = JSON.stringify(promptText(i, own));
    const input =
      workload.endpoint === "chat" ? `"messages":[{"role":"user","content":${text}}]` : `"prompt":${text}`;
    return {
      body: `{"model":${modelJson},${input},"max_tokens":${maxTokens(i)},"temperature":0,"ignore_eos":true${streamPart}}`,
      promptTokens: promptTokens(i),
      maxTokens: maxTokens(i),
    };
  };
  return {
    workload,
    calibration,
    model,
    count: lines.length,
    mode,
    warmupRequests: 0,
    warmupMs: 0,
    warmupSchedule: () => undefined,
    // A trace has no warmup (the config refuses it): a "warmup" index is a request outside the
    // trace (the first-request check), shaped like line index mod n but sharing no block.
    request: (index, warmup) => request(index, warmup),
    body: (index, warmup) => request(index, warmup).body,
    promptTokens: (index) => promptTokens(index),
    maxTokens: (index) => maxTokens(index),
  };
}
