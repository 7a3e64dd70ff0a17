/**
 * What a run does before any schedule: attach to (or start) each runtime, failing when a target
 * is unreachable, calibrate prompts once, and send one check request to each target
 * (first-request.ts: a refusal stops the run with the server's message).
 */
import { checkFailure, checkFirstRequest, referenceOf } from "./first-request.js";
import { refusesIgnoreEos, withoutIgnoreEos } from "./ignore-eos.js";
import { buildPlan } from "./plan.js";
import { datasetOf, type RunContext, targetOf } from "./run-context.js";
import { calibrate, calibrateFromCheck } from "./run-prompts.js";
import { CHECK_STALL_TIMEOUT_MS } from "./stall.js";

/**
 * Opens the targets, calibrates, and checks each target with the first workload's first request.
 * A cancelled run stops checking and is marked interrupted; a failed check throws.
 */
export async function prepareRun(ctx: RunContext): Promise<void> {
  const { config, opts, emit, targets, auth } = ctx;
  await ctx.runTargets.open();

  const firstWorkload = config.workloads[0]!;
  ctx.calibration = await calibrate(targets, config.model, firstWorkload.endpoint, auth);
  emit({ kind: "log", message: `prompt calibration: ${ctx.calibration.detail}` });
  const firstPlan = buildPlan(
    firstWorkload,
    config.model,
    ctx.calibration,
    await datasetOf(ctx, firstWorkload),
  );
  for (const t of targets) {
    const checkWith = (plan: typeof firstPlan) =>
      checkFirstRequest({
        plan,
        target: targetOf(ctx, t, firstWorkload),
        runtime: t.runtime,
        url: t.url,
        stallTimeoutMs: (firstWorkload.stallTimeoutS ?? CHECK_STALL_TIMEOUT_MS / 1000) * 1000,
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      });
    let check = await checkWith(firstPlan);
    if (refusesIgnoreEos(check)) {
      // OpenAI's own API refuses arguments it does not know: go without, and say so.
      ctx.noIgnoreEos.add(t.runtime);
      ctx.warnings.push(
        `${t.runtime} refuses ignore_eos (${check.error}): its requests were sent without it, so output lengths are the server's choice, not the plan's`,
      );
      emit({ kind: "log", message: `${t.runtime} refuses ignore_eos: sending without it` });
      check = await checkWith(withoutIgnoreEos(firstPlan));
    }
    ctx.checks.push(check);
    if (opts.signal?.aborted) break;
    if (check.outcome !== "ok") throw checkFailure(check);
    const reference = referenceOf(check);
    if (reference) ctx.references.set(t.runtime, reference);
    emit({ kind: "log", message: `first request to ${t.runtime}: ok in ${check.e2eMs?.toFixed(0)} ms` });
  }
  if (opts.signal?.aborted) ctx.interrupted = true;
  // Where nothing counted tokens beforehand, the check's own usage gives the overhead.
  const counted = ctx.checks.length > 0 ? calibrateFromCheck(ctx.calibration, ctx.checks[0]!) : undefined;
  if (counted !== undefined) {
    ctx.calibration = counted;
    emit({ kind: "log", message: `prompt calibration: ${ctx.calibration.detail}` });
  }
}
