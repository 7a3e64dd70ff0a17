/**
 * The plan of one workload: the arrival schedule, and for every request its prompt, prompt token
 * count and output length. Everything is a pure function of the seed and the calibration, so
 * the same seed gives identical prompts and send times, and every runtime of a run gets the same
 * plan. Prompts are built on demand from (seed, index), never stored, so a plan of a million
 * requests costs only its schedule and two integer arrays.
 */
import { readFileSync } from "node:fs";
import { TokenForgeError } from "../errors.js";
import { hashString } from "../models/prng.js";
import { type Calibration, sharedPrefix, syntheticPrompt } from "./prompts.js";
import { rampSchedule } from "./ramp.js";
import { arrivalOffsets, createRandom, SeededRandom, sampleDistribution } from "./random.js";
import { buildTracePlan, loadTrace } from "./trace-replay.js";
import type { Workload } from "./types.js";

/** Offset added to warmup request indices so their prompts never equal a measured one. */
const WARMUP_INDEX_BASE = 0x40000000;
/** Requests in flight when a duration-bound run has no rate and no concurrency of its own. */
export const DEFAULT_MAX_THROUGHPUT_CONCURRENCY = 256;

export type LoopMode =
  | { kind: "open"; atMs: Float64Array; burst: boolean }
  | { kind: "closed"; concurrency: number; durationMs?: number };

export interface Plan {
  workload: Workload;
  calibration: Calibration;
  model: string;
  /** Measured requests; Infinity when a closed loop runs for a duration. */
  count: number;
  mode: LoopMode;
  warmupRequests: number;
  warmupMs: number;
  /** Open loop at a finite rate: the warmup's own schedule at that rate; otherwise undefined. */
  warmupSchedule(): Float64Array | undefined;
  /** Request i's body with its planned token counts (warmup indices are separate). */
  request(index: number, warmup: boolean): PlannedBody;
  body(index: number, warmup: boolean): string;
  promptTokens(index: number, warmup: boolean): number;
  maxTokens(index: number, warmup: boolean): number;
}

export interface PlannedBody {
  body: string;
  promptTokens: number;
  maxTokens: number;
}

/** Prompts from a dataset file, with their token counts measured during calibration. */
export interface DatasetPrompts {
  texts: string[];
  tokens: Int32Array;
}

export function buildPlan(
  workload: Workload,
  model: string,
  calibration: Calibration,
  dataset?: DatasetPrompts,
): Plan {
  if (workload.trace) {
    return buildTracePlan(
      workload,
      model,
      calibration,
      loadTrace(workload.trace.path, workload.trace.format),
    );
  }
  const seed = workload.seed;
  const mode = loopMode(workload);
  const count = mode.kind === "open" ? mode.atMs.length : (workload.numRequests ?? Number.POSITIVE_INFINITY);
  const prefixWords =
    workload.prefix.ratio > 0 && workload.prefix.length > 0
      ? sharedPrefix(calibration, workload.prefix.length, seed)
      : [];
  const noPrefix: string[] = [];

  const realIndex = (index: number, warmup: boolean) => (warmup ? WARMUP_INDEX_BASE + index : index);
  const lengths = planLengths(workload);
  const promptTokens = (index: number, warmup: boolean): number => {
    const i = realIndex(index, warmup);
    if (dataset) return dataset.tokens[datasetSlot(i, dataset.texts.length, seed)]!;
    return lengths.promptTokens(i);
  };
  const maxTokens = (index: number, warmup: boolean): number => lengths.maxTokens(realIndex(index, warmup));
  const sharesPrefix = (i: number) =>
    prefixWords.length > 0 && perRequest(seed, i, PREFIX).next() < workload.prefix.ratio;
  const promptText = (index: number, warmup: boolean, tokens: number): string => {
    const i = realIndex(index, warmup);
    if (dataset) return dataset.texts[datasetSlot(i, dataset.texts.length, seed)]!;
    return syntheticPrompt(calibration, {
      tokens,
      index: i,
      seed,
      prefix: sharesPrefix(i) ? prefixWords : noPrefix,
    });
  };
  const modelJson = JSON.stringify(model);
  const streamPart = workload.stream
    ? ',"stream":true,"stream_options":{"include_usage":true}'
    : ',"stream":false';
  const request = (index: number, warmup: boolean): PlannedBody => {
    const tokens = promptTokens(index, warmup);
    const n = maxTokens(index, warmup);
    const text = JSON.stringify(promptText(index, warmup, tokens));
    const input =
      workload.endpoint === "chat" ? `"messages":[{"role":"user","content":${text}}]` : `"prompt":${text}`;
    return {
      body: `{"model":${modelJson},${input},"max_tokens":${n},"temperature":0,"ignore_eos":true${streamPart}}`,
      promptTokens: tokens,
      maxTokens: n,
    };
  };

  return {
    workload,
    calibration,
    model,
    count,
    mode,
    warmupRequests: workload.warmup.requests ?? 0,
    warmupMs: (workload.warmup.seconds ?? 0) * 1000,
    warmupSchedule: () => warmupSchedule(workload),
    request,
    body: (index, warmup) => request(index, warmup).body,
    promptTokens,
    maxTokens,
  };
}

/**
 * The token counts a synthetic workload draws for measured request i: the same numbers a plan
 * gives, without prompts or a calibration (the simulated engine's capacity planning uses them).
 */
export function planLengths(workload: Workload): {
  promptTokens(i: number): number;
  maxTokens(i: number): number;
} {
  const seed = workload.seed;
  return {
    promptTokens: (i) => sampleDistribution(workload.promptLen, perRequest(seed, i, PROMPT_LEN)),
    maxTokens: (i) => sampleDistribution(workload.genTokens, perRequest(seed, i, GEN_TOKENS)),
  };
}

/** How a workload sends: its open-loop schedule (a pure function of the seed) or a closed loop. */
export function loopMode(w: Workload): LoopMode {
  if (w.concurrency !== undefined) {
    return { kind: "closed", concurrency: w.concurrency, ...durationOf(w) };
  }
  if (w.ramp?.of === "qps") {
    return {
      kind: "open",
      atMs: rampSchedule(w.ramp, w.arrival, createRandom(w.seed, "arrival")),
      burst: false,
    };
  }
  if (w.qps === undefined || !Number.isFinite(w.qps)) {
    if (w.numRequests !== undefined) {
      // Maximum throughput: every request is due at once; max_concurrency, if set, paces them.
      return { kind: "open", atMs: new Float64Array(w.numRequests), burst: true };
    }
    return {
      kind: "closed",
      concurrency: w.maxConcurrency ?? DEFAULT_MAX_THROUGHPUT_CONCURRENCY,
      ...durationOf(w),
    };
  }
  const rng = createRandom(w.seed, "arrival");
  if (w.numRequests !== undefined) {
    return { kind: "open", atMs: arrivalOffsets(w.arrival, w.qps, w.numRequests, rng), burst: false };
  }
  const durationMs = (w.durationS ?? 0) * 1000;
  // Draw comfortably more arrivals than the duration holds, then keep those inside it.
  const expected = w.qps * (durationMs / 1000);
  const drawn = arrivalOffsets(
    w.arrival,
    w.qps,
    Math.ceil(expected * 1.3 + 10 * Math.sqrt(expected) + 10),
    rng,
  );
  let n = 0;
  while (n < drawn.length && drawn[n]! < durationMs) n++;
  return { kind: "open", atMs: drawn.slice(0, n), burst: false };
}

/** The generator for one request's draws of one kind: independent of every other request's. */
function perRequest(seed: number, index: number, stream: number): SeededRandom {
  return new SeededRandom(seed >>> 0, index >>> 0, stream);
}

// One stream of draws per kind, so adding a draw of one kind never shifts another's values.
const PROMPT_LEN = hashString("prompt-len");
const GEN_TOKENS = hashString("gen-tokens");
const PREFIX = hashString("prefix");
const DATASET_ROUND = hashString("dataset-round");

function warmupSchedule(w: Workload): Float64Array | undefined {
  if (w.concurrency !== undefined || w.qps === undefined || !Number.isFinite(w.qps)) return undefined;
  const count = w.warmup.requests ?? Math.ceil(w.qps * (w.warmup.seconds ?? 0));
  if (count <= 0) return undefined;
  return arrivalOffsets(w.arrival, w.qps, count, createRandom(w.seed, "warmup-arrival"));
}

function durationOf(w: Workload): { durationMs?: number } {
  return w.durationS === undefined ? {} : { durationMs: w.durationS * 1000 };
}

/** A seeded permutation step: request i uses dataset entry slot(i), cycling through all first. */
function datasetSlot(i: number, n: number, seed: number): number {
  const round = Math.floor(i / n);
  const offset = Math.floor(perRequest(seed, round, DATASET_ROUND).next() * n);
  return (i + offset) % n;
}

/** Loads prompts from a ShareGPT-format JSON array or a JSONL file of objects. */
export function loadDataset(dataset: Workload["dataset"]): string[] {
  if (dataset.kind === "synthetic") return [];
  const text = readFileSync(dataset.path, "utf8");
  const prompts: string[] = [];
  if (dataset.kind === "sharegpt") {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw new TokenForgeError("invalid_request", `${dataset.path} is not JSON: ${(err as Error).message}`, {
        field: "dataset.sharegpt",
      });
    }
    if (!Array.isArray(data)) {
      throw new TokenForgeError("invalid_request", `${dataset.path}: a ShareGPT file is a JSON array`, {
        field: "dataset.sharegpt",
      });
    }
    for (const item of data) {
      const turns = (item as { conversations?: { from?: string; value?: unknown }[] }).conversations;
      const first = Array.isArray(turns)
        ? turns.find((t) => t.from === "human" || t.from === "user")
        : undefined;
      if (first && typeof first.value === "string" && first.value.length > 0) prompts.push(first.value);
    }
  } else {
    const lines = text.split("\n");
    for (let n = 0; n < lines.length; n++) {
      const line = lines[n]!.trim();
      if (line === "") continue;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch {
        throw new TokenForgeError("invalid_request", `${dataset.path}:${n + 1} is not a JSON line`, {
          field: "dataset.jsonl",
        });
      }
      const value = typeof row === "string" ? row : (row as Record<string, unknown>)[dataset.field];
      if (typeof value !== "string" || value.length === 0) {
        throw new TokenForgeError(
          "invalid_request",
          `${dataset.path}:${n + 1} has no string field "${dataset.field}"`,
          {
            field: "dataset.jsonl",
          },
        );
      }
      prompts.push(value);
    }
  }
  if (prompts.length === 0) {
    throw new TokenForgeError("invalid_request", `${dataset.path} holds no prompts`, { field: "dataset" });
  }
  return prompts;
}
