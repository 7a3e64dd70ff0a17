/**
 * Cost profiles: a profile file (configs/cost-profiles/*.yaml) or a config's `cost` (a path to
 * one, or the profile inline), read, checked beside the schema (the rule it cannot express) and
 * turned into hardware dollars per hour.
 */
import { extname, resolve } from "node:path";
import { Value } from "@sinclair/typebox/value";
import { type CostProfileFile, CostProfileFileSchema, type PricedHardwareFile } from "./config-schema.js";
import { ConfigError, parseText, readText } from "./config-text.js";
import { amortizedHourly } from "./cost.js";
import { type ConfigProblem, isPlainObject, joinPath, schemaProblems } from "./schema-problems.js";
import type { CostProfile } from "./types.js";

/** A cost profile with the machine it prices, when the profile says (checked at publish time). */
export type PricedCost = CostProfile & { hardware?: PricedHardwareFile };

/** Reads a cost profile file (configs/cost-profiles/*.yaml). */
export function loadCostProfile(path: string): PricedCost {
  const problems: ConfigProblem[] = [];
  const cost = costFromFile(resolve(path), "", problems);
  if (cost === undefined || problems.length > 0) throw new ConfigError(problems, path);
  return cost;
}

/**
 * Hardware dollars per hour of use: as the profile states it, or an amortized purchase plus the
 * energy of that hour (cost.ts's `amortizedHourly`).
 */
export function costProfile(file: CostProfileFile): PricedCost {
  const priced = file.hardware === undefined ? {} : { hardware: file.hardware };
  if ("dollars_per_hour" in file) {
    return { dollarsPerHour: file.dollars_per_hour, breakdown: { hourly: file.dollars_per_hour }, ...priced };
  }
  const utilization = file.utilization ?? 1;
  const powerWatts = file.power_watts ?? 0;
  const dollarsPerKwh = file.dollars_per_kwh ?? 0;
  const { hardware, energy } = amortizedHourly({
    price: file.price,
    amortizationYears: file.amortization_years,
    utilization,
    powerWatts,
    dollarsPerKwh,
  });
  return {
    dollarsPerHour: hardware + energy,
    breakdown: {
      price: file.price,
      amortizationYears: file.amortization_years,
      utilization,
      powerWatts,
      dollarsPerKwh,
    },
    ...priced,
  };
}

/** A `cost` value as a profile, adding its problems under `path`; a string names a profile file. */
export function resolveCost(
  cost: unknown,
  baseDir: string,
  problems: ConfigProblem[],
): CostProfile | undefined {
  if (typeof cost === "string" && cost !== "") return costFromFile(resolve(baseDir, cost), "cost", problems);
  if (!isPlainObject(cost)) return undefined; // absent, or the schema reports its shape
  // The config schema already reports an inline cost's shape; add only the rule it cannot express.
  const extra = amortizedProblems(cost, "cost");
  problems.push(...extra);
  return extra.length === 0 && Value.Check(CostProfileFileSchema, cost) ? costProfile(cost) : undefined;
}

function costFromFile(file: string, path: string, problems: ConfigProblem[]): PricedCost | undefined {
  let text: string;
  try {
    text = readText(file, path);
  } catch (err) {
    // Unreadable or over the size limit: the reader's one problem, said of the cost profile.
    const message = err instanceof ConfigError ? (err.problems[0]?.message ?? err.message) : String(err);
    problems.push({ path, message: `cost profile: ${message}` });
    return undefined;
  }
  const parsed = parseText(text, extname(file).toLowerCase() === ".json" ? "json" : "yaml");
  const found =
    parsed.problems.length > 0
      ? parsed.problems.map((p) => ({ path, message: p.message }))
      : [
          ...schemaProblems(CostProfileFileSchema, parsed.value, path),
          ...amortizedProblems(parsed.value, path),
        ];
  problems.push(...found.map((p) => ({ path: p.path, message: `${p.message} (in ${file})` })));
  return found.length === 0 ? costProfile(parsed.value as CostProfileFile) : undefined;
}

function amortizedProblems(profile: unknown, path: string): ConfigProblem[] {
  if (!isPlainObject(profile) || !("price" in profile)) return [];
  const power = profile.power_watts !== undefined;
  const kwh = profile.dollars_per_kwh !== undefined;
  if (power === kwh) return [];
  const missing = power ? "dollars_per_kwh" : "power_watts";
  return [
    {
      path: joinPath(path, missing),
      message: "is required with power_watts and dollars_per_kwh: give both or neither",
    },
  ];
}
