/**
 * `tokenforge report RESULT.json [--out FILE]`: writes the self-contained HTML report of a
 * benchmark run (default `report.html` beside the result). Reads `requests.jsonl` beside the
 * result when it is there; without it the report has no latency CDFs or time series and says so.
 * Exit 2 when a file cannot be read, is not a result file, or the report cannot be written.
 */
import type { Command } from "commander";
import { ResultFileError } from "../bench/compare.js";
import { writeReport } from "../report/write.js";

export interface ReportIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

/** Writes the report and returns the exit code (0 written, 2 bad input or unwritable output). */
export function runReport(resultFile: string, opts: { out?: string }, io: ReportIo = process): number {
  try {
    const r = writeReport(resultFile, opts.out);
    if (!r.traces) {
      io.stderr.write(
        `note: ${r.tracesFile} not found: the report has no latency CDFs or time series (per-request data)\n`,
      );
    }
    io.stdout.write(`report: ${r.path} (${(r.bytes / 1024).toFixed(0)} KiB)\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof ResultFileError)) throw err;
    io.stderr.write(`error: ${err.message}\n`);
    return 2;
  }
}

export function registerReportCommand(program: Command): void {
  program
    .command("report")
    .description("write the self-contained HTML report of a benchmark result (charts inlined, no network)")
    .argument("<result>", "result.json written by `tokenforge bench` (requests.jsonl beside it is read too)")
    .option("--out <file>", "where to write the HTML (default report.html beside the result)")
    .action((result: string, opts: { out?: string }) => {
      process.exitCode = runReport(result, opts);
    });
}
