/**
 * Reads a result file for the report: the checks `tokenforge compare` makes on `results`, plus the
 * parts only the report reads (status, sweeps, warnings). Every problem is a ResultFileError that
 * names the file.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ResultFileError, validateResultFile } from "../bench/compare.js";
import type { BenchResult } from "../bench/run.js";

/** A result file as the report reads it: `results` checked, everything else possibly absent. */
export type ReportInput = Partial<Omit<BenchResult, "results" | "sweeps" | "warnings">> &
  Pick<BenchResult, "results" | "sweeps" | "warnings">;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Checks the parsed JSON of `file`; throws ResultFileError naming the field. */
export function validateReportInput(value: unknown, file: string): ReportInput {
  const fail = (problem: string): never => {
    throw new ResultFileError(file, problem);
  };
  if (isObject(value) && value.schema === undefined) {
    fail(
      'schema: missing; expected "tokenforge.bench.result/v1" (a result.json written by tokenforge bench)',
    );
  }
  const checked = validateResultFile(value, file) as unknown as Record<string, unknown>;
  const statuses = ["complete", "incomplete", "failed"];
  if (checked.status !== undefined && !statuses.includes(checked.status as string)) {
    fail(`status: expected "complete", "incomplete" or "failed", got ${JSON.stringify(checked.status)}`);
  }
  const sweeps = checked.sweeps ?? [];
  if (!Array.isArray(sweeps)) return fail("sweeps: expected an array");
  for (const [i, s] of (sweeps as unknown[]).entries()) {
    if (!isObject(s)) return fail(`sweeps[${i}]: expected an object`);
    if (typeof s.workload !== "string") fail(`sweeps[${i}].workload: expected a string`);
    if (typeof s.runtime !== "string") fail(`sweeps[${i}].runtime: expected a string`);
    if (!Array.isArray(s.points)) return fail(`sweeps[${i}].points: expected an array`);
    for (const [j, p] of (s.points as unknown[]).entries()) {
      if (!isObject(p) || !isObject(p.metrics)) fail(`sweeps[${i}].points[${j}].metrics: expected an object`);
    }
  }
  const warnings = checked.warnings ?? [];
  if (!Array.isArray(warnings) || !warnings.every((w) => typeof w === "string")) {
    fail("warnings: expected an array of strings");
  }
  return { ...checked, sweeps, warnings } as ReportInput;
}

/** Reads and checks a result file. */
export function readReportInput(file: string): ReportInput {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ResultFileError(file, `cannot read (${code ?? (err as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ResultFileError(file, `not valid JSON (${(err as Error).message})`);
  }
  return validateReportInput(parsed, file);
}

/** Where the result's per-request traces are: `files.requests` beside it, else `requests.jsonl`. */
export function tracesPathOf(resultFile: string, input: ReportInput): string {
  const named = input.files?.requests;
  const name = typeof named === "string" && named.length > 0 ? named : "requests.jsonl";
  return join(dirname(resultFile), name);
}
