import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { registerModelsCommand } from "../../src/cli/models.js";
import { readEnv } from "../../src/config.js";
import { findPreset } from "../../src/models/presets.js";
import { estimateFileSize } from "../../src/models/synthesize.js";
import { withTempDir } from "./helpers.js";

async function run(
  args: string[],
  cacheDir: string,
): Promise<{ stdout: string; stderr: string; exitCode: unknown }> {
  const program = new Command("tokenforge").exitOverride();
  registerModelsCommand(program, {
    ...readEnv({}),
    modelCacheDir: cacheDir,
    threads: undefined,
    resultsDir: "results",
    databaseUrl: undefined,
    dataDir: "memory://",
  });
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(["node", "tokenforge", ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return { stdout, stderr, exitCode: process.exitCode };
}

afterEach(() => {
  process.exitCode = undefined;
});

describe("tokenforge models", () => {
  it("lists presets with shapes and sizes per quant", async () => {
    const { stdout } = await run(["models", "list"], "/nonexistent");
    const lines = stdout.trim().split("\n");
    expect(lines[0]).toMatch(
      /^preset\s+arch\s+params\s+layers\s+hidden\s+heads\/kv\s+vocab\s+ctx\s+f32\s+f16\s+q8_0\s+q4_0$/,
    );
    const big = lines.find((l) => l.startsWith("llama-3.1-8b"))!;
    expect(big.split(/\s{2,}/)).toEqual([
      "llama-3.1-8b",
      "llama",
      "8.03B",
      "32",
      "4096",
      "32/8",
      "128256",
      "131072",
      "32.13 GB",
      "16.07 GB",
      "8.54 GB",
      "4.52 GB",
    ]);
    expect(lines).toHaveLength(6);
  });

  it("synthesizes into the cache or to --out and prints the path", async () => {
    await withTempDir(async (dir) => {
      const cached = await run(["models", "synth", "tiny", "--quant", "q4_0", "--seed", "5"], dir);
      const path = cached.stdout.trim();
      expect(path).toMatch(/tiny-q4_0-s5-c2048-[0-9a-f]{16}\.gguf$/);
      expect(existsSync(path)).toBe(true);
      expect(cached.exitCode).toBeUndefined();

      const out = join(dir, "sub", "model.gguf");
      const written = await run(["models", "synth", "tiny", "--ctx", "512", "--out", out], dir);
      expect(written.stdout.trim()).toBe(out);
      expect((await stat(out)).size).toBe(estimateFileSize(findPreset("tiny")!, "q8_0"));
      // Small files get no progress line.
      expect(written.stderr).toBe("");
    });
  });

  it.each([
    [["models", "synth", "huge"], /unknown synthetic preset "huge".*llama-3\.1-8b/],
    [["models", "synth", "tiny", "--quant", "q5"], /valid quants: f32, f16, q8_0, q4_0/],
    [["models", "synth", "tiny", "--seed", "x"], /seed="x"/],
    [["models", "synth", "tiny", "--ctx", "0"], /ctx="0"/],
  ])("rejects %j with exit code 2", async (args, message) => {
    await withTempDir(async (dir) => {
      const r = await run(args, dir);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe("");
    });
  });
});
