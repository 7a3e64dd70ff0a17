/**
 * What a gateway does at start for the runs a previous process left behind: a run still `queued`
 * or `running` ended with that process, so it is marked `interrupted`; the workload × runtime
 * pairs it had finished (the harness's checkpoints in the run's directory) are put in the store if
 * they are not there yet, and the error says how much was kept and how to resume. The deployments
 * those runs made for themselves are removed by `Deployments.restore`.
 */
import { join } from "node:path";
import { readCheckpoints } from "../bench/checkpoint.js";
import type { BenchConfig } from "../bench/types.js";
import type { RunRow, Store } from "../spec/store.js";

export interface Interrupted {
  id: string;
  /** Pairs finished before the process ended, and all the run's pairs. */
  kept: number;
  total: number;
}

/** Marks the runs left queued or running as interrupted, keeping what they finished. */
export async function interruptLeftoverRuns(store: Store, resultsDir: string): Promise<Interrupted[]> {
  const left: RunRow[] = [
    ...(await store.listRuns({ status: "running", limit: 10_000 })),
    ...(await store.listRuns({ status: "queued", limit: 10_000 })),
  ];
  const out: Interrupted[] = [];
  for (const run of left) {
    const config = run.config as Partial<BenchConfig>;
    const total = (config.workloads?.length ?? 0) * (config.runtimes?.length ?? 0);
    const stored = new Set((await store.listResults(run.id)).map((r) => `${r.workload}\u0000${r.runtime}`));
    const pairs = readCheckpoints(join(resultsDir, run.id));
    for (const pair of pairs) {
      for (const r of pair.results) {
        if (stored.has(`${r.workload}\u0000${r.runtime}`)) continue;
        await store.putResult({
          runId: run.id,
          workload: r.workload,
          runtime: r.runtime,
          metrics: r.metrics,
        });
      }
    }
    await store.updateRun(run.id, {
      status: "interrupted",
      finishedAt: new Date().toISOString(),
      error:
        `the gateway stopped before the run ended; ${pairs.length} of ${total} workload × runtime pair(s) ` +
        `were finished and kept; POST /benchmarks/${run.id}/resume runs the rest with the same plan and seed`,
    });
    out.push({ id: run.id, kept: pairs.length, total });
  }
  return out;
}
