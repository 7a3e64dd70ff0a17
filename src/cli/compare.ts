/**
 * `tokenforge compare A.json B.json`: compares two benchmark result files metric by metric and
 * exits 1 when any key metric regressed past the threshold (and twice its noise), 0 otherwise,
 * 2 when a file cannot be read or is not a result file, an option is invalid, or the two runs have
 * no workload × runtime in common (nothing was compared, so "no regression" would mean nothing).
 */
import type { Command } from "commander";
import {
  compareResults,
  DEFAULT_NOISE_FLOOR_PCT,
  ResultFileError,
  readResultFile,
} from "../bench/compare.js";
import { renderComparison } from "../bench/table.js";

export const DEFAULT_THRESHOLD_PCT = 5;

export interface CompareCliOptions {
  threshold?: string;
  noiseFloor?: string;
  json?: boolean;
  color?: boolean;
}

export interface CompareIo {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown };
}

function percentOption(name: string, raw: string | undefined, fallback: number): number | string {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < 0) {
    return `${name}: expected a non-negative number (percent), got "${raw}"`;
  }
  return n;
}

/** Runs the comparison and returns the exit code (0 ok, 1 regression, 2 bad input or nothing in common). */
export async function runCompare(
  fileA: string,
  fileB: string,
  opts: CompareCliOptions,
  io: CompareIo = process,
): Promise<number> {
  const thresholdPct = percentOption("--threshold", opts.threshold, DEFAULT_THRESHOLD_PCT);
  const noiseFloorPct = percentOption("--noise-floor", opts.noiseFloor, DEFAULT_NOISE_FLOOR_PCT);
  for (const v of [thresholdPct, noiseFloorPct]) {
    if (typeof v === "string") {
      io.stderr.write(`error: ${v}\n`);
      return 2;
    }
  }
  let a: Awaited<ReturnType<typeof readResultFile>>;
  let b: typeof a;
  try {
    [a, b] = await Promise.all([readResultFile(fileA), readResultFile(fileB)]);
  } catch (err) {
    if (!(err instanceof ResultFileError)) throw err;
    io.stderr.write(`error: ${err.message}\n`);
    return 2;
  }
  const cmp = compareResults(a, b, {
    thresholdPct: thresholdPct as number,
    noiseFloorPct: noiseFloorPct as number,
  });
  if (cmp.pairs.length === 0) {
    const list = (rows: { workload: string; runtime: string }[]) =>
      rows.length === 0 ? "none" : rows.map((r) => `${r.workload} on ${r.runtime}`).join(", ");
    io.stderr.write(
      `error: nothing to compare: the two runs have no workload × runtime in common (A has ${list(cmp.onlyInA)}; B has ${list(cmp.onlyInB)}). Compare runs of the same config.\n`,
    );
    return 2;
  }
  if (opts.json === true) {
    io.stdout.write(`${JSON.stringify({ a: fileA, b: fileB, ...cmp }, null, 2)}\n`);
  } else {
    const color = opts.color !== false && io.stdout.isTTY === true;
    io.stdout.write(`A: ${fileA}\nB: ${fileB}\n${renderComparison(cmp, { color })}\n`);
  }
  return cmp.regressions > 0 ? 1 : 0;
}

export function registerCompareCommand(program: Command): void {
  program
    .command("compare")
    .description(
      "Compare two benchmark result files: per workload and runtime, each key metric's change, its noise and a verdict",
    )
    .argument("<a>", "baseline result file (JSON written by `tokenforge bench`)")
    .argument("<b>", "result file to compare with the baseline")
    .option(
      "--threshold <pct>",
      `smallest change counted as better or worse, in percent (default ${DEFAULT_THRESHOLD_PCT})`,
    )
    .option(
      "--noise-floor <pct>",
      `relative noise below which no change counts, in percent (default ${DEFAULT_NOISE_FLOOR_PCT})`,
    )
    .option("--json", "print the comparison as JSON")
    .option("--no-color", "never color the table")
    .action(async (a: string, b: string, opts: CompareCliOptions) => {
      process.exitCode = await runCompare(a, b, opts);
    });
}
