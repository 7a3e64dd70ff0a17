/** Writes a run's report: the result file in, one HTML file out. */
import { statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ResultFileError } from "../bench/compare.js";
import { chartLibrary } from "./assets.js";
import { loadReportData } from "./data.js";
import { renderReport } from "./html.js";

export interface WrittenReport {
  path: string;
  bytes: number;
  /** Whether the per-request traces were found (without them the page has no CDFs or timelines). */
  traces: boolean;
  /** The traces file looked for. */
  tracesFile: string;
}

/**
 * Renders the report of `resultFile` to `out` (default `report.html` beside it; a directory gets
 * `report.html` inside). Throws ResultFileError naming the file that cannot be read or written.
 */
export function writeReport(resultFile: string, out?: string): WrittenReport {
  const data = loadReportData(resultFile);
  const html = renderReport(data, chartLibrary());
  let path = out ?? join(dirname(resultFile), "report.html");
  if (out !== undefined && statSync(out, { throwIfNoEntry: false })?.isDirectory())
    path = join(out, "report.html");
  try {
    writeFileSync(path, html);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ResultFileError(path, `cannot write the report (${code ?? (err as Error).message})`);
  }
  return { path, bytes: Buffer.byteLength(html), traces: data.traces.found, tracesFile: data.traces.file };
}
