/**
 * Fits the simulated engine's performance model to a measured run (the harness's per-request
 * traces) and reports how well the fitted model reproduces that run, stage by stage:
 *
 * - Decode (fit-decode.ts): the step time by batch size, from the gaps between content chunks.
 * - Prefill (fit-prefill.ts): the rate and fixed overhead, from the steps that prefilled.
 * - `max_batch` and the KV-cache capacity cannot be read off client traces: they come from the
 *   caller (the target's /health, or flags).
 * - The error (fit-replay.ts): each workload's requests replayed through the fitted model and the
 *   simulated TTFT, TPOT, E2E and throughput compared with the measured ones; the same replay
 *   refines the prefill estimate.
 */
import type { PerfModel } from "../runtimes/sim/perf-model.js";
import { fitDecode } from "./fit-decode.js";
import { fitPrefill } from "./fit-prefill.js";
import { prepare, refinePrefill, workloadError } from "./fit-replay.js";
import {
  FitError,
  type FitOptions,
  type FitReport,
  type TraceLine,
  type WorkloadFitError,
} from "./fit-types.js";

/** Fits a model to one runtime's traces and replays every workload of them through it. */
export function fitPerfModel(lines: readonly TraceLine[], opts: FitOptions): FitReport {
  const ok = lines.filter((t) => t.outcome === "ok" && !t.warmup && t.chunkMs.length > 0);
  if (ok.length === 0) throw new FitError("no completed, streamed, measured requests to fit on");
  const runtimes = [...new Set(ok.map((t) => t.runtime))];
  if (runtimes.length !== 1)
    throw new FitError(`the traces hold several runtimes (${runtimes.join(", ")}): choose one`);
  const groups = groupBy(ok, (t) => t.workload);
  const all = [...groups.keys()];
  const fittedOn = opts.fitWorkloads ? [...opts.fitWorkloads] : all;
  for (const w of fittedOn)
    if (!groups.has(w))
      throw new FitError(`workload ${w} has no completed requests (have: ${all.join(", ")})`);
  const fitGroups = fittedOn.map((w) => groups.get(w)!);

  const decodeFit = fitDecode(fitGroups);
  const { decode } = decodeFit;
  const prefillFit = fitPrefill(fitGroups, decode);
  let model: PerfModel = {
    prefillTokensPerS: 1000 / prefillFit.line.slope,
    prefillOverheadMs: prefillFit.line.intercept,
    decode,
    maxBatch: opts.maxBatch,
    kvCacheTokens: opts.kvCacheTokens,
    ...(opts.maxBatchedTokens === undefined ? {} : { maxBatchedTokens: opts.maxBatchedTokens }),
    jitter: 0,
  };

  const prepared = new Map(
    all.map((w) => [w, prepare(w, groups.get(w)!, opts.kvCacheTokens, opts.closedLoop?.[w])] as const),
  );
  const direct = { tokensPerS: model.prefillTokensPerS, overheadMs: model.prefillOverheadMs };
  if (opts.refine !== false)
    model = refinePrefill(
      model,
      fittedOn.map((w) => prepared.get(w)!),
    );
  const errors = all.map((w) => workloadError(model, prepared.get(w)!, !fittedOn.includes(w)));
  const meanOf = (e: WorkloadFitError[]) => {
    const v = e.flatMap((x) => x.figures.map((f) => Math.abs(f.relError)));
    return v.length > 0 ? v.reduce((a, b) => a + b, 0) / v.length : undefined;
  };
  const fitted = meanOf(errors.filter((e) => !e.heldOut));
  const heldOut = meanOf(errors.filter((e) => e.heldOut));
  return {
    model,
    runtime: runtimes[0]!,
    fittedOn,
    decode: decodeFit.report,
    prefill: { ...prefillFit.report, direct },
    errors,
    meanAbsRelError: {
      ...(fitted === undefined ? {} : { fitted }),
      ...(heldOut === undefined ? {} : { heldOut }),
    },
  };
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const arr = m.get(k);
    if (arr) arr.push(it);
    else m.set(k, [it]);
  }
  return m;
}
