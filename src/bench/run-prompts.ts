/**
 * The prompts of a run, prepared before anything is timed: calibration on the first target that
 * can count tokens (the plan is shared by every runtime), and a dataset's prompts loaded and
 * counted on the target.
 */
import { countTokens } from "gpt-tokenizer/encoding/cl100k_base";
import { type DatasetPrompts, loadDataset } from "./plan.js";
import { type Calibration, calibrateWithCounter, serverCounter, uncalibrated } from "./prompts.js";
import type { TargetInfo } from "./targets.js";
import type { Workload } from "./types.js";

/** A dataset's longest prompt in tokens, when its prompts were counted. */
export function longestPrompt(dataset: DatasetPrompts | undefined): number | undefined {
  if (dataset === undefined) return undefined;
  let max = 0;
  for (const n of dataset.tokens) if (n > max) max = n;
  return max > 0 ? max : undefined;
}

/**
 * Calibrates on the first target that has /tokenize (the plan is shared by all runtimes); else,
 * for a synthetic model, on its own tokenizer (cl100k_base, plus the BOS token llama.cpp adds);
 * else prompt lengths are checked against the server's usage afterwards.
 */
export async function calibrate(
  targets: TargetInfo[],
  model: string,
  endpoint: Workload["endpoint"],
  auth: ReadonlyMap<string, Record<string, string>>,
): Promise<Calibration> {
  for (const t of targets) {
    const headers = auth.get(t.runtime);
    const counter = await serverCounter({ baseUrl: t.url, model, endpoint, ...(headers ? { headers } : {}) });
    if (counter) return calibrateWithCounter(counter, "server-tokenize");
  }
  if (model.startsWith("synthetic:") && endpoint === "completions") {
    return calibrateWithCounter(async (text) => countTokens(text) + 1, "local-tokenizer");
  }
  return uncalibrated();
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
  const counter =
    calibration.source === "server-tokenize"
      ? await serverCounter({
          baseUrl: target.url,
          model,
          endpoint: workload.endpoint,
          ...(auth.has(target.runtime) ? { headers: auth.get(target.runtime) } : {}),
        })
      : undefined;
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
