/**
 * `tokenforge publish`: turns result files into the results site (index.html,
 * benchmark-results.html, benchmark-results.json) in a directory such as site/, keeping the
 * history already published there. A cost profile whose hardware is not the machine a run
 * recorded is refused, writing nothing, unless forced; forced, the page says so.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PricedCost } from "../bench/cost-profile.js";
import { type BenchResult, RESULT_SCHEMA } from "../bench/run.js";
import { TokenForgeError } from "../errors.js";
import { buildSite, entriesOf, SITE_SCHEMA, type SiteData } from "./data.js";
import { indexPage, resultsPage } from "./html.js";

/** result.json files named directly, inside run directories, or one level inside a results root. */
export function findResults(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!existsSync(p))
      throw new TokenForgeError("invalid_request", `${p} does not exist`, { field: "results" });
    if (statSync(p).isFile()) {
      out.push(p);
    } else if (existsSync(join(p, "result.json"))) {
      out.push(join(p, "result.json"));
    } else {
      for (const d of readdirSync(p).sort())
        if (existsSync(join(p, d, "result.json"))) out.push(join(p, d, "result.json"));
    }
  }
  if (out.length === 0)
    throw new TokenForgeError("invalid_request", `no result.json under ${paths.join(", ")}`, {
      field: "results",
    });
  return out;
}

export function readResult(path: string): BenchResult {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new TokenForgeError("invalid_request", `${path} is not JSON: ${(err as Error).message}`, {
      field: "results",
    });
  }
  const r = value as Partial<BenchResult>;
  if (r.schema !== RESULT_SCHEMA || !Array.isArray(r.results) || typeof r.id !== "string") {
    throw new TokenForgeError(
      "invalid_request",
      `${path} is not a TokenForge result (schema ${RESULT_SCHEMA})`,
      {
        field: "results",
      },
    );
  }
  return r as BenchResult;
}

export interface PublishOptions {
  results: string[];
  outDir: string;
  history: number;
  cost?: PricedCost & { source: string };
  /** Publish costs even where the profile's hardware is not the run's machine (the page says so). */
  force?: boolean;
}

export function publish(opts: PublishOptions): SiteData {
  const files = findResults(opts.results);
  const added = files.flatMap((f) => entriesOf(readResult(f)));
  const jsonPath = join(opts.outDir, "benchmark-results.json");
  let previous: SiteData | undefined;
  if (existsSync(jsonPath)) {
    const old = JSON.parse(readFileSync(jsonPath, "utf8")) as Partial<SiteData>;
    if (old.schema !== SITE_SCHEMA) {
      throw new TokenForgeError(
        "invalid_request",
        `${jsonPath} has schema ${String(old.schema)}, not ${SITE_SCHEMA}`,
        {
          field: "out",
        },
      );
    }
    previous = old as SiteData;
  }
  const site = buildSite(previous, added, {
    history: opts.history,
    ...(opts.cost ? { cost: opts.cost } : {}),
  });
  const mismatched = site.entries.filter((e) => e.costMismatch !== undefined);
  if (mismatched.length > 0 && !opts.force) {
    const runs = [...new Map(mismatched.map((e) => [e.runId, e.costMismatch!])).entries()];
    throw new TokenForgeError(
      "invalid_request",
      `the cost profile ${site.costProfile?.source ?? ""} does not price the machine ${runs.length === 1 ? "this run was" : "these runs were"} measured on: ` +
        `${runs.map(([id, why]) => `${id}: ${why}`).join("; ")}. ` +
        "Use a profile for that machine, or --force to publish anyway (the page then says so)",
      { field: "cost" },
    );
  }
  mkdirSync(opts.outDir, { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(site, null, 2)}\n`);
  writeFileSync(join(opts.outDir, "index.html"), indexPage(site));
  writeFileSync(join(opts.outDir, "benchmark-results.html"), resultsPage(site));
  return site;
}
