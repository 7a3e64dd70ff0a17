import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { TokenForgeError } from "../../src/errors.js";
import { cacheFileName, writeAtomically } from "../../src/models/cache.js";
import { findPreset } from "../../src/models/presets.js";
import { listPresets, resolveModel } from "../../src/models/resolve.js";
import { parseWithHf, withTempDir } from "./helpers.js";

const tiny = findPreset("tiny")!;
const sha256 = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

async function expectInvalidRef(p: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TokenForgeError);
  expect(err).toMatchObject({ code: "invalid_model_ref", field: "model" });
  expect((err as Error).message).toMatch(message);
}

describe("resolveModel (synthetic)", () => {
  it("writes into the cache atomically and fills every field", async () => {
    await withTempDir(async (cacheDir) => {
      const name = cacheFileName({ preset: tiny, quant: "q4_0", seed: 3, contextLength: 4096 });
      expect(name).toMatch(/^tiny-q4_0-s3-c4096-[0-9a-f]{16}\.gguf$/);
      const finalPath = join(cacheDir, name);
      const seenDuringWrite = new Set<string>();
      let finalExistedDuringWrite = false;
      let lastProgress: [number, number] = [0, 0];
      const model = await resolveModel("synthetic:tiny?quant=q4_0&seed=3&ctx=4096", {
        cacheDir,
        onProgress: (written, total) => {
          lastProgress = [written, total];
          if (existsSync(finalPath)) finalExistedDuringWrite = true;
          for (const f of readdirSync(cacheDir)) seenDuringWrite.add(f);
        },
      });
      expect(finalExistedDuringWrite).toBe(false);
      expect([...seenDuringWrite].some((f) => f.startsWith(`.${name}.`) && f.endsWith(".tmp"))).toBe(true);
      expect(lastProgress[0]).toBe(lastProgress[1]);

      expect(model).toEqual({
        ref: "synthetic:tiny?quant=q4_0&seed=3&ctx=4096",
        id: "synthetic:tiny?quant=q4_0&seed=3&ctx=4096",
        path: finalPath,
        sizeBytes: (await stat(finalPath)).size,
        architecture: "llama",
        contextLength: 4096,
        synthetic: {
          preset: "tiny",
          quant: "q4_0",
          seed: 3,
          parameterCount: listPresets().find((p) => p.name === "tiny")!.parameterCount,
          sha256: await sha256(finalPath),
        },
        tokenizer: {
          name: "cl100k_base (byte-level BPE)",
          origin: expect.stringMatching(/^gpt-tokenizer@/),
          license: "MIT",
        },
      });
      expect((await readFile(`${finalPath}.sha256`, "utf8")).trim()).toBe(model.synthetic!.sha256);
      expect((await parseWithHf(finalPath)).kv["llama.context_length"]).toBe(4096);
      // Nothing but the model and its hash is left behind.
      expect((await readdir(cacheDir)).sort()).toEqual([name, `${name}.sha256`]);
    });
  });

  it("reuses a cached file without rewriting it", async () => {
    await withTempDir(async (cacheDir) => {
      const first = await resolveModel("synthetic:tiny", { cacheDir });
      expect(first.id).toBe("synthetic:tiny");
      const before = await stat(first.path);
      let progressCalls = 0;
      const second = await resolveModel("synthetic:tiny?quant=q8_0&seed=0", {
        cacheDir,
        onProgress: () => progressCalls++,
      });
      expect(second.path).toBe(first.path);
      expect(second.synthetic!.sha256).toBe(first.synthetic!.sha256);
      expect(progressCalls).toBe(0);
      expect((await stat(second.path)).mtimeMs).toBe(before.mtimeMs);

      // A lost hash file is recomputed from the bytes, not trusted blindly or rewritten as a model.
      await rm(`${first.path}.sha256`);
      const third = await resolveModel("synthetic:tiny", { cacheDir });
      expect(third.synthetic!.sha256).toBe(first.synthetic!.sha256);
      expect((await stat(third.path)).mtimeMs).toBe(before.mtimeMs);
    });
  });

  it("never takes a leftover temp file for a model, and removes it once its writer is gone", async () => {
    await withTempDir(async (cacheDir) => {
      const name = cacheFileName({ preset: tiny, quant: "q8_0", seed: 0, contextLength: tiny.contextLength });
      // A crashed writer's partial file (pid 2^31 - 1 is not running).
      const stale = join(cacheDir, `.${name}.2147483647.deadbeef.tmp`);
      await writeFile(stale, "partial");
      const model = await resolveModel("synthetic:tiny", { cacheDir });
      expect(basename(model.path)).toBe(name);
      expect((await stat(model.path)).size).toBeGreaterThan(1e6);
      expect(existsSync(stale)).toBe(false);
    });
  });

  it("shares one write between concurrent resolves of the same spec", async () => {
    await withTempDir(async (cacheDir) => {
      const temps = new Set<string>();
      const calls = [0, 0, 0];
      const watch = (i: number) => () => {
        calls[i]!++;
        for (const f of readdirSync(cacheDir)) if (f.endsWith(".tmp")) temps.add(f);
      };
      const models = await Promise.all(
        [0, 1, 2].map((i) => resolveModel("synthetic:tiny", { cacheDir, onProgress: watch(i) })),
      );
      expect(new Set(models.map((m) => m.path)).size).toBe(1);
      expect(temps.size).toBe(1);
      expect(calls.every((c) => c > 0)).toBe(true);
    });
  });

  it("leaves nothing behind when a write fails", async () => {
    await withTempDir(async (dir) => {
      const target = join(dir, "out.gguf");
      await expect(
        writeAtomically(target, async (temp) => {
          await writeFile(temp, "half a model");
          throw new Error("disk full");
        }),
      ).rejects.toThrow("disk full");
      expect(await readdir(dir)).toEqual([]);
    });
  });
});

describe("resolveModel (paths)", () => {
  it("reads a GGUF file's architecture and context length", async () => {
    await withTempDir(async (cacheDir) => {
      const synthetic = await resolveModel("synthetic:tiny?ctx=1024", { cacheDir });
      const model = await resolveModel(basename(synthetic.path), { cacheDir, cwd: cacheDir });
      expect(model).toEqual({
        ref: basename(synthetic.path),
        id: basename(synthetic.path),
        path: synthetic.path,
        sizeBytes: synthetic.sizeBytes,
        architecture: "llama",
        contextLength: 1024,
        tokenizer: synthetic.tokenizer,
      });
    });
  });

  it("rejects missing files, directories and non-GGUF files as invalid_model_ref", async () => {
    await withTempDir(async (dir) => {
      await expectInvalidRef(
        resolveModel(join(dir, "nope.gguf"), { cacheDir: dir }),
        /does not exist.*synthetic:<preset>.*tiny, llama-100m/,
      );
      await expectInvalidRef(resolveModel(dir, { cacheDir: dir }), /is not a file/);
      await writeFile(join(dir, "notes.txt"), "hello, this is not a model");
      await expectInvalidRef(resolveModel(join(dir, "notes.txt"), { cacheDir: dir }), /not a GGUF file/);
      await expectInvalidRef(resolveModel("synthetic:tiny?quant=q3", { cacheDir: dir }), /valid quants/);
    });
  });
});

describe("listPresets", () => {
  it("lists every preset with its parameter count and size per quant", () => {
    const presets = listPresets();
    expect(presets.map((p) => p.name)).toEqual([
      "tiny",
      "llama-100m",
      "qwen2.5-0.5b",
      "llama-3.2-1b",
      "llama-3.1-8b",
    ]);
    const big = presets.find((p) => p.name === "llama-3.1-8b")!;
    expect(big.architecture).toBe("llama");
    expect(big.parameterCount / 1e9).toBeCloseTo(8.03, 2);
    expect(big.sizeBytes.q4_0 / 1e9).toBeCloseTo(4.52, 2);
    expect(big.sizeBytes.f16).toBeGreaterThan(big.sizeBytes.q8_0);
    expect(presets.find((p) => p.name === "qwen2.5-0.5b")!.architecture).toBe("qwen2");
  });
});
