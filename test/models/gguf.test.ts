import { createHash } from "node:crypto";
import { readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readGgufHeader } from "../../src/models/gguf-reader.js";
import { findPreset } from "../../src/models/presets.js";
import { GgmlType, QUANTS, type Quant } from "../../src/models/quantize.js";
import { estimateFileSize, WRITER_VERSION, writeSyntheticModel } from "../../src/models/synthesize.js";
import { planTensors } from "../../src/models/tensor-plan.js";
import { CL100K_SIZE } from "../../src/models/vocab.js";
import {
  dequantizeF16,
  dequantizeQ4_0,
  dequantizeQ8_0,
  type HfParsed,
  makeTempDir,
  parseWithHf,
  readBytes,
} from "./helpers.js";

const tiny = findPreset("tiny")!;
const spec = (quant: Quant, seed = 0, contextLength = tiny.contextLength) => ({
  preset: tiny,
  quant,
  seed,
  contextLength,
});

let dir = "";
const files = {} as Record<Quant, string>;
const writeMs = {} as Record<Quant, number>;

beforeAll(async () => {
  dir = await makeTempDir();
  for (const q of QUANTS) {
    files[q] = join(dir, `tiny-${q}.gguf`);
    const t0 = performance.now();
    await writeSyntheticModel(spec(q), files[q]);
    writeMs[q] = performance.now() - t0;
  }
});

afterAll(() => rm(dir, { recursive: true, force: true }));

const parses = new Map<string, Promise<HfParsed>>();

async function tensorBytes(path: string, name: string): Promise<Uint8Array> {
  if (!parses.has(path)) parses.set(path, parseWithHf(path));
  const parsed = await parses.get(path)!;
  const info = parsed.tensorInfos.find((t) => t.name === name)!;
  const plan = planTensors(tiny, "f32").find((t) => t.name === name)!;
  const typeBytes: Record<number, (n: number) => number> = {
    [GgmlType.F32]: (n) => n * 4,
    [GgmlType.F16]: (n) => n * 2,
    [GgmlType.Q8_0]: (n) => (n / 32) * 34,
    [GgmlType.Q4_0]: (n) => (n / 32) * 18,
  };
  const length = typeBytes[info.dtype]!(plan.elements);
  return readBytes(path, Number(parsed.tensorDataOffset + info.offset), length);
}

describe("GGUF writer (tiny)", () => {
  it("writes each quant quickly and exactly the estimated size", async () => {
    for (const q of QUANTS) {
      expect((await stat(files[q])).size).toBe(estimateFileSize(tiny, q));
      // Generous for slow CI; typically ~0.2 s once the vocabulary is derived.
      if (q !== "f32") expect(writeMs[q]).toBeLessThan(2000);
    }
  });

  it.each(QUANTS)("round-trips %s through @huggingface/gguf with llama.cpp's keys and shapes", async (q) => {
    const parsed = await parseWithHf(files[q]);
    const m = parsed.kv;
    expect(m.version).toBe(3);
    expect(m["general.architecture"]).toBe("llama");
    expect(m["general.alignment"]).toBe(32);
    expect(m["general.file_type"]).toBe({ f32: 0, f16: 1, q4_0: 2, q8_0: 7 }[q]);
    expect(m["general.quantization_version"]).toBe(2);
    expect(m["general.license"]).toBe("MIT");
    expect(m["llama.block_count"]).toBe(2);
    expect(m["llama.context_length"]).toBe(2048);
    expect(m["llama.embedding_length"]).toBe(128);
    expect(m["llama.feed_forward_length"]).toBe(384);
    expect(m["llama.attention.head_count"]).toBe(4);
    expect(m["llama.attention.head_count_kv"]).toBe(2);
    expect(m["llama.rope.dimension_count"]).toBe(32);
    expect(m["llama.rope.freq_base"]).toBe(500000);
    expect(m["llama.attention.layer_norm_rms_epsilon"]).toBeCloseTo(1e-5, 10);
    expect(m["llama.vocab_size"]).toBe(tiny.vocab);
    expect(m["tokenizer.ggml.model"]).toBe("gpt2");
    expect(m["tokenizer.ggml.pre"]).toBe("llama-bpe");
    expect(m["tokenizer.ggml.bos_token_id"]).toBe(CL100K_SIZE);
    expect(m["tokenizer.ggml.eos_token_id"]).toBe(CL100K_SIZE + 1);
    expect(m["tokenizer.ggml.eot_token_id"]).toBe(CL100K_SIZE + 9);
    expect(String(m["tokenizer.chat_template"])).toContain("<|start_header_id|>");
    expect(m["tokenforge.synthetic.writer_version"]).toBe(WRITER_VERSION);
    expect(m["tokenforge.tokenizer.license"]).toBe("MIT");
    expect(String(m["tokenforge.tokenizer.origin"])).toMatch(/^gpt-tokenizer@\d/);

    const tokens = m["tokenizer.ggml.tokens"] as string[];
    const types = m["tokenizer.ggml.token_type"] as number[];
    expect(tokens).toHaveLength(tiny.vocab);
    expect(types).toHaveLength(tiny.vocab);
    expect(new Set(tokens).size).toBe(tiny.vocab);
    expect(tokens.slice(0, 3)).toEqual(["!", '"', "#"]);
    expect(tokens[CL100K_SIZE]).toBe("<|begin_of_text|>");
    expect(tokens[CL100K_SIZE + 6]).toBe("<|start_header_id|>");
    expect(types[0]).toBe(1);
    expect(types[CL100K_SIZE]).toBe(3);
    expect((m["tokenizer.ggml.merges"] as string[]).length).toBe(CL100K_SIZE - 256);
    expect(parsed.typedMetadata["tokenizer.ggml.token_type"]?.subType).toBe(5); // INT32

    const plan = planTensors(tiny, q);
    expect(parsed.tensorInfos.map((t) => t.name)).toEqual(plan.map((t) => t.name));
    for (const [i, t] of parsed.tensorInfos.entries()) {
      expect(t.shape.map(Number)).toEqual(plan[i]!.dims);
      expect(t.dtype).toBe(plan[i]!.type);
      expect(Number(t.offset) % 32).toBe(0);
    }
    expect(Number(parsed.tensorDataOffset) % 32).toBe(0);
    if (q !== "f32") {
      const f32Tensors = parsed.tensorInfos.filter((t) => t.dtype === GgmlType.F32).map((t) => t.name);
      expect(f32Tensors).toEqual(plan.filter((t) => t.dims.length === 1).map((t) => t.name));
    }
  });

  it("stores norms as F32 ones", async () => {
    const bytes = await tensorBytes(files.q4_0, "blk.1.ffn_norm.weight");
    const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    expect([...values].every((v) => v === 1)).toBe(true);
  });

  it("quantizes the same weights as the F32 file, within each format's error", async () => {
    const name = "blk.0.ffn_down.weight";
    const raw = await tensorBytes(files.f32, name);
    const ref = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    // Uniform with standard deviation 1/sqrt(fan_in = 384).
    const amplitude = Math.sqrt(3 / 384);
    const max = ref.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    expect(max).toBeLessThanOrEqual(amplitude);
    expect(max).toBeGreaterThan(amplitude * 0.99);

    const f16 = dequantizeF16(await tensorBytes(files.f16, name));
    const q8 = dequantizeQ8_0(await tensorBytes(files.q8_0, name));
    const q4 = dequantizeQ4_0(await tensorBytes(files.q4_0, name));
    // Worst error of each format relative to its step: F16 half an ulp at the amplitude, Q8_0
    // half a step (plus the f16 scale's rounding), Q4_0 one step (the clamped top code).
    let f16Worst = 0;
    let q8Worst = 0;
    let q4Worst = 0;
    for (let i = 0; i < ref.length; i++) {
      const b = i >> 5;
      f16Worst = Math.max(f16Worst, Math.abs(f16[i]! - ref[i]!) / (amplitude * 2 ** -11));
      q8Worst = Math.max(q8Worst, Math.abs(q8.values[i]! - ref[i]!) / q8.scales[b]!);
      q4Worst = Math.max(q4Worst, Math.abs(q4.values[i]! - ref[i]!) / Math.abs(q4.scales[b]!));
    }
    expect(f16Worst).toBeLessThanOrEqual(1);
    expect(q8Worst).toBeLessThanOrEqual(0.57);
    expect(q4Worst).toBeLessThanOrEqual(1.01);
  });

  it("writes byte-identical files for the same spec and different ones for another seed or ctx", async () => {
    const sha = async (p: string) =>
      createHash("sha256")
        .update(await readFile(p))
        .digest("hex");
    const again = join(dir, "again.gguf");
    const r = await writeSyntheticModel(spec("q8_0"), again);
    expect(r.sha256).toBe(await sha(files.q8_0));
    expect(await sha(again)).toBe(await sha(files.q8_0));

    const seeded = await writeSyntheticModel(spec("q8_0", 7), join(dir, "seed7.gguf"));
    expect(seeded.sha256).not.toBe(r.sha256);
    expect(seeded.bytes).toBe(r.bytes);
    const a = await tensorBytes(again, "blk.0.attn_q.weight");
    const b = await tensorBytes(join(dir, "seed7.gguf"), "blk.0.attn_q.weight");
    expect(Buffer.compare(a, b)).not.toBe(0);

    const longer = join(dir, "ctx.gguf");
    const c = await writeSyntheticModel(spec("q8_0", 0, 4096), longer);
    expect(c.sha256).not.toBe(r.sha256);
    expect((await parseWithHf(longer)).kv["llama.context_length"]).toBe(4096);
  });

  it("refuses to overwrite an existing file", async () => {
    await expect(writeSyntheticModel(spec("q8_0"), files.q8_0)).rejects.toMatchObject({ code: "EEXIST" });
  });

  it("is read back by our own header reader", async () => {
    const h = await readGgufHeader(files.q4_0);
    expect(h.version).toBe(3);
    expect(h.tensorCount).toBe(planTensors(tiny, "q4_0").length);
    expect(h.metadata.get("general.architecture")).toBe("llama");
    expect(h.metadata.get("llama.context_length")).toBe(2048);
    expect(h.metadata.get("tokenizer.ggml.tokens")).toEqual({ arrayLength: tiny.vocab });
    expect(h.metadata.get("tokenizer.ggml.add_bos_token")).toBe(true);
  });
});
