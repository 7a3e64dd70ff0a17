/**
 * The prompts of a run, prepared before anything is timed: calibration on the first way of
 * counting tokens that proves itself (the plan is shared by every runtime), and a dataset's
 * prompts loaded and counted on the target.
 */
import { countTokens } from "gpt-tokenizer/encoding/cl100k_base";
import type { FirstRequestCheck } from "./first-request.js";
import { type DatasetPrompts, loadDataset } from "./plan.js";
import { type Calibration, calibrateWithCounter, uncalibrated } from "./prompts.js";
import type { TargetInfo } from "./targets.js";
import {
  type Counter,
  probeCounter,
  shapeNamed,
  TOKENIZE_SHAPES,
  type TokenizeTarget,
  tokenizeCounter,
} from "./token-counters.js";
import type { TokenCountSource, Workload } from "./types.js";

/** A dataset's longest prompt in tokens, when its prompts were counted. */
export function longestPrompt(dataset: DatasetPrompts | undefined): number | undefined {
  if (dataset === undefined) return undefined;
  let max = 0;
  for (const n of dataset.tokens) if (n > max) max = n;
  return max > 0 ? max : undefined;
}

/**
 * Calibrates once for the run (the plan is shared by every runtime), trying in order: every known
 * `/tokenize` shape on every target, each checked on probes of known length before calibration
 * asks it anything (token-counters.ts); for a synthetic model on completions, its own tokenizer
 * (cl100k_base, plus the BOS token llama.cpp adds); else one token per word is assumed, until the
 * first-request check's usage gives the overhead (`calibrateFromCheck`). The result says which
 * method counted and why each earlier one was passed over.
 */
export async function calibrate(
  targets: TargetInfo[],
  model: string,
  endpoint: Workload["endpoint"],
  auth: ReadonlyMap<string, Record<string, string>>,
): Promise<Calibration> {
  const tried: string[] = [];
  const targetOf = (t: TargetInfo): TokenizeTarget => {
    const headers = auth.get(t.runtime);
    return { baseUrl: t.url, model, endpoint, ...(headers ? { headers } : {}) };
  };
  const attempt = async (
    what: string,
    counter: Counter,
    source: TokenCountSource,
    extra: Partial<Calibration>,
  ): Promise<Calibration | undefined> => {
    const problem = await probeCounter(counter);
    if (problem !== undefined) {
      tried.push(`${what}: ${problem}`);
      return undefined;
    }
    try {
      const cal = await calibrateWithCounter(counter, source);
      return {
        ...cal,
        ...extra,
        detail: `${cal.detail} (${what})`,
        ...(tried.length > 0 ? { tried: [...tried] } : {}),
      };
    } catch (err) {
      tried.push(`${what}: ${(err as Error).message}`);
      return undefined;
    }
  };

  for (const t of targets) {
    for (const shape of TOKENIZE_SHAPES) {
      const counter = tokenizeCounter(targetOf(t), shape);
      if (counter === undefined) continue;
      const cal = await attempt(
        `${t.runtime}'s /tokenize in ${shape.name}'s shape`,
        counter,
        "server-tokenize",
        {
          tokenize: shape.name,
          runtime: t.runtime,
        },
      );
      if (cal) return cal;
    }
  }
  if (model.startsWith("synthetic:") && endpoint === "completions") {
    const cal = await attempt(
      `${model}'s own tokenizer`,
      async (text) => countTokens(text) + 1,
      "local-tokenizer",
      {},
    );
    if (cal) return cal;
  }
  return uncalibrated(tried);
}

/** The most tokens a server may add to a prompt (BOS, a chat template) for the overhead to be believed. */
const MAX_OVERHEAD = 512;

/**
 * Where nothing could count tokens before the run, the first-request check's own
 * `usage.prompt_tokens` does, at no extra request: the check's prompt was planned at one token per
 * word with no overhead, so what the server counted beyond its words is the overhead it adds
 * (special tokens, its chat template). One token per word stays an assumption, which every
 * request's usage then checks (`tokenMismatch.promptVsPlanned`). Undefined when the calibration
 * did not need it or the check reported no usable count; `tried` then says why.
 */
export function calibrateFromCheck(cal: Calibration, check: FirstRequestCheck): Calibration | undefined {
  if (cal.source !== "assumed" || check.outcome !== "ok") return undefined;
  const what = `${check.runtime}'s usage.prompt_tokens on the first-request check`;
  const tried = cal.tried ?? [];
  if (check.usage === undefined) {
    tried.push(`${what}: the check reported no usage`);
    cal.tried = tried;
    return undefined;
  }
  const overhead = check.usage.promptTokens - check.promptTokens;
  if (overhead < 0 || overhead > MAX_OVERHEAD) {
    tried.push(
      `${what}: ${check.usage.promptTokens} tokens for a prompt of ${check.promptTokens} words, ` +
        "not one token per word plus an overhead",
    );
    cal.tried = tried;
    return undefined;
  }
  return {
    source: "server-usage",
    overhead,
    words: cal.words,
    runtime: check.runtime,
    detail:
      `server-usage: ${overhead} tokens of overhead per prompt, from ${what} ` +
      `(${check.usage.promptTokens} tokens for ${check.promptTokens} words); one token per word assumed, ` +
      "checked on every request's usage",
    ...(tried.length > 0 ? { tried } : {}),
  };
}

/** Loads a dataset's prompts and counts their tokens on the target (concurrently, before timing). */
export async function prepareDataset(
  workload: Workload,
  target: TargetInfo,
  model: string,
  calibration: Calibration,
  auth: ReadonlyMap<string, Record<string, string>>,
): Promise<DatasetPrompts | undefined> {
  if (workload.dataset.kind === "synthetic") return undefined;
  const texts = loadDataset(workload.dataset);
  const tokens = new Int32Array(texts.length).fill(-1);
  // The dialect calibration found; on a target other than the one that calibrated, it is checked
  // on the probes again before its counts are used.
  const shape = calibration.tokenize === undefined ? undefined : shapeNamed(calibration.tokenize);
  let counter =
    shape === undefined
      ? undefined
      : tokenizeCounter(
          {
            baseUrl: target.url,
            model,
            endpoint: workload.endpoint,
            ...(auth.has(target.runtime) ? { headers: auth.get(target.runtime) } : {}),
          },
          shape,
        );
  if (counter !== undefined && (await probeCounter(counter)) !== undefined) counter = undefined;
  if (!counter) {
    // No /tokenize: count with cl100k_base, an estimate the server's usage is checked against.
    for (let i = 0; i < texts.length; i++) tokens[i] = countTokens(texts[i]!);
  } else {
    let next = 0;
    const worker = async () => {
      while (next < texts.length) {
        const i = next++;
        tokens[i] = (await counter(texts[i]!)) ?? -1;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  }
  return { texts, tokens };
}
