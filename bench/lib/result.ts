/** Writes a benchmark's figures with the versions and machine they were measured on. */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { VERSION } from "../../src/version.js";

export function writeResult(name: string, figures: unknown): string {
  const dir = join(import.meta.dirname, "..", "..", "results", "bench");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-${new Date().toISOString().replaceAll(":", "-")}.json`);
  const record = {
    bench: name,
    tokenforge: VERSION,
    node: process.version,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryBytes: totalmem() },
    measuredAt: new Date().toISOString(),
    figures,
  };
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`wrote ${file}`);
  return file;
}
