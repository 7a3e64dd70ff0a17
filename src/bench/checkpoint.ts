/**
 * What a run keeps on disk as each workload × runtime pair finishes (`<outDir>/pairs/`), before
 * the next one starts: the pair's results (every sweep point included) and its sweep summary. A
 * run whose process died keeps its finished pairs this way, and a resumed run skips them and
 * carries their results into its own. Each file is written whole or not at all (a temporary file
 * renamed over it).
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { WorkloadResult } from "./run.js";
import type { SweepSummary } from "./sweep.js";

export const PAIR_SCHEMA = "tokenforge.bench.pair/v1";

export interface PairCheckpoint {
  schema: typeof PAIR_SCHEMA;
  workload: string;
  runtime: string;
  results: WorkloadResult[];
  sweep?: SweepSummary;
  /** Bytes of `requests.jsonl` once the pair finished: its traces and those before it end there. */
  tracesEnd: number;
}

const DIR = "pairs";

/** A file name for the pair (workload names may hold "/"; the runtime is a registry name). */
function fileOf(workload: string, runtime: string): string {
  return `${encodeURIComponent(workload)}.${encodeURIComponent(runtime)}.json`;
}

export function writeCheckpoint(outDir: string, cp: Omit<PairCheckpoint, "schema">): void {
  const dir = join(outDir, DIR);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, fileOf(cp.workload, cp.runtime));
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ schema: PAIR_SCHEMA, ...cp })}\n`);
  renameSync(tmp, path);
}

/** The pairs a run in `outDir` finished, in no particular order; unreadable files are skipped. */
export function readCheckpoints(outDir: string): PairCheckpoint[] {
  const dir = join(outDir, DIR);
  if (!existsSync(dir)) return [];
  const out: PairCheckpoint[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".json")) continue;
    try {
      const cp = JSON.parse(readFileSync(join(dir, name), "utf8")) as PairCheckpoint;
      if (cp.schema === PAIR_SCHEMA && typeof cp.workload === "string" && Array.isArray(cp.results))
        out.push(cp);
    } catch {
      // A file cut short by a crash is a pair not finished.
    }
  }
  return out;
}

/**
 * Cuts `requests.jsonl` back to the end of the last finished pair: pairs run one after another,
 * so what follows is the traces of the pair that was cut short, which a resumed run runs again.
 */
export function keepTraces(path: string, finished: readonly PairCheckpoint[]): void {
  if (!existsSync(path)) return;
  const end = Math.max(0, ...finished.map((p) => (Number.isSafeInteger(p.tracesEnd) ? p.tracesEnd : 0)));
  if (statSync(path).size > end) truncateSync(path, end);
}
