/**
 * `tokenforge models list` and `tokenforge models synth`: the synthetic model presets and writing
 * one to the cache or to a file.
 */
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import type { TokenForgeEnv } from "../config.js";
import { isTokenForgeError } from "../errors.js";
import { cacheFileName, writeAtomically } from "../models/cache.js";
import { findPreset } from "../models/presets.js";
import { QUANTS } from "../models/quantize.js";
import { parseModelRef, SYNTHETIC_PREFIX } from "../models/reference.js";
import { listPresets, resolveModel } from "../models/resolve.js";
import { writeSyntheticModel } from "../models/synthesize.js";
import { byteProgress } from "./progress.js";

/** Files smaller than this are written too fast for a progress line to help. */
const PROGRESS_MIN_BYTES = 64e6;

export function formatParams(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  return `${(n / 1e3).toFixed(1)}K`;
}

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e3).toFixed(1)} KB`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  // Names left-aligned, numbers right-aligned.
  return rows
    .map((r) => r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "))
    .join("\n");
}

export function presetTable(): string {
  const header = ["preset", "arch", "params", "layers", "hidden", "heads/kv", "vocab", "ctx", ...QUANTS];
  const rows = listPresets().map((p) => [
    p.name,
    p.architecture,
    formatParams(p.parameterCount),
    String(p.layers),
    String(p.hidden),
    `${p.heads}/${p.kvHeads}`,
    String(p.vocab),
    String(p.contextLength),
    ...QUANTS.map((q) => formatBytes(p.sizeBytes[q])),
  ]);
  return table([header, ...rows]);
}

interface SynthOptions {
  quant?: string;
  seed?: string;
  ctx?: string;
  out?: string;
}

async function synth(env: TokenForgeEnv, presetName: string, o: SynthOptions): Promise<void> {
  const params = new URLSearchParams();
  if (o.quant !== undefined) params.set("quant", o.quant);
  if (o.seed !== undefined) params.set("seed", o.seed);
  if (o.ctx !== undefined) params.set("ctx", o.ctx);
  const query = params.size > 0 ? `?${params}` : "";
  // One validation path for CLI flags and references, with the same messages.
  const ref = parseModelRef(`${SYNTHETIC_PREFIX}${presetName}${query}`);
  if (ref.kind !== "synthetic") throw new Error("unreachable");
  const label = `writing ${ref.preset} ${ref.quant}`;
  const progress = byteProgress(label);
  const onProgress = (written: number, total: number): void => {
    if (total >= PROGRESS_MIN_BYTES) progress(written, total);
  };
  if (o.out !== undefined) {
    const spec = {
      preset: findPreset(ref.preset)!,
      quant: ref.quant,
      seed: ref.seed,
      contextLength: ref.contextLength,
    };
    // A directory (existing, or named with a trailing slash) gets the file under its cache name.
    const toDir = /[\\/]$/.test(o.out) || (existsSync(o.out) && statSync(o.out).isDirectory());
    const out = toDir ? join(resolve(o.out), cacheFileName(spec)) : resolve(o.out);
    if (toDir) mkdirSync(dirname(out), { recursive: true });
    await writeAtomically(out, (temp) => writeSyntheticModel(spec, temp, onProgress));
    process.stdout.write(`${out}\n`);
    return;
  }
  const model = await resolveModel(ref.ref, { cacheDir: env.modelCacheDir, onProgress });
  process.stdout.write(`${model.path}\n`);
}

export function registerModelsCommand(program: Command, env: TokenForgeEnv): void {
  const models = program.command("models").description("Synthetic models: presets and writing them");

  models
    .command("list")
    .description("List the synthetic model presets with their shapes and file sizes per quant")
    .action(() => {
      process.stdout.write(`${presetTable()}\n`);
    });

  models
    .command("synth")
    .description(
      "Write a synthetic model into the model cache ($TOKENFORGE_MODEL_CACHE) and print its path; " +
        "benchmarks and workers find it there by its reference (synthetic:<preset>?quant=…)",
    )
    .argument("<preset>", "preset name (see `tokenforge models list`)")
    .option("--quant <quant>", `weight type: ${QUANTS.join(", ")} (default q8_0)`)
    .option("--seed <n>", "weight seed (default 0)")
    .option("--ctx <n>", "context length written into the model (default: the preset's)")
    .option(
      "--out <path>",
      "write to this file (or into this directory) instead of the cache; real-size models take gigabytes",
    )
    .action(async (preset: string, opts: SynthOptions) => {
      try {
        await synth(env, preset, opts);
      } catch (err) {
        if (!isTokenForgeError(err) || err.status >= 500) throw err;
        process.stderr.write(`error: ${err.message}\n`);
        process.exitCode = 2;
      }
    });
}
