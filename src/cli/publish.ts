/**
 * `tokenforge publish RESULTS... [--out DIR] [--cost PROFILE] [--force] [--history N]`: the
 * results site, in site/ unless told otherwise (docs/ holds the Markdown documentation).
 */
import { resolve } from "node:path";
import type { Command } from "commander";
import { loadCostProfile } from "../bench/cost-profile.js";
import { publish } from "../site/publish.js";
import { positiveInt } from "./parse.js";

export function registerPublishCommand(program: Command): void {
  program
    .command("publish")
    .description("write the results site (index.html, benchmark-results.html/.json) from result files")
    .argument("<results...>", "result.json files, run directories, or a results directory")
    .option("--out <dir>", "where the site goes (its existing history is kept)", "site")
    .option("--cost <profile>", "cost profile (YAML): every cost figure is recomputed with it")
    .option(
      "--force",
      "publish costs even when the profile's hardware is not the machine a run recorded (the page says so)",
    )
    .option("--history <n>", "runs kept per model and engine", positiveInt, 10)
    .action((results: string[], flags: { out: string; cost?: string; history: number; force?: boolean }) => {
      const cost =
        flags.cost === undefined ? undefined : { ...loadCostProfile(flags.cost), source: flags.cost };
      const site = publish({
        results,
        outDir: resolve(flags.out),
        history: flags.history,
        ...(cost ? { cost } : {}),
        force: flags.force === true,
      });
      const mismatched = site.entries.filter((e) => e.costMismatch !== undefined).length;
      if (mismatched > 0) {
        process.stderr.write(
          `warning: ${mismatched} result(s) priced with a profile for other hardware (--force); the page says so\n`,
        );
      }
      process.stdout.write(
        `published ${site.entries.length} results to ${resolve(flags.out)} (index.html, benchmark-results.html, benchmark-results.json)\n`,
      );
    });
}
