import { describe, expect, it } from "vitest";
import { findPreset, PRESETS } from "../../src/models/presets.js";
import { GgmlType } from "../../src/models/quantize.js";
import { parameterCount, planTensors, ropeFreqFactors } from "../../src/models/tensor-plan.js";

const preset = (name: string) => findPreset(name)!;

describe("tensor plan", () => {
  it("gives llama-3.1-8b llama.cpp's names and GGUF shapes (innermost first)", () => {
    const plan = planTensors(preset("llama-3.1-8b"), "q4_0");
    const byName = new Map(plan.map((t) => [t.name, t]));
    const shape = (name: string) => byName.get(name)?.dims;
    expect(plan).toHaveLength(1 + 1 + 32 * 9 + 2);
    expect(shape("token_embd.weight")).toEqual([4096, 128256]);
    expect(shape("output.weight")).toEqual([4096, 128256]);
    expect(shape("output_norm.weight")).toEqual([4096]);
    expect(shape("rope_freqs.weight")).toEqual([64]);
    for (const i of [0, 31]) {
      expect(shape(`blk.${i}.attn_norm.weight`)).toEqual([4096]);
      expect(shape(`blk.${i}.attn_q.weight`)).toEqual([4096, 4096]);
      expect(shape(`blk.${i}.attn_k.weight`)).toEqual([4096, 1024]);
      expect(shape(`blk.${i}.attn_v.weight`)).toEqual([4096, 1024]);
      expect(shape(`blk.${i}.attn_output.weight`)).toEqual([4096, 4096]);
      expect(shape(`blk.${i}.ffn_norm.weight`)).toEqual([4096]);
      expect(shape(`blk.${i}.ffn_gate.weight`)).toEqual([4096, 14336]);
      expect(shape(`blk.${i}.ffn_up.weight`)).toEqual([4096, 14336]);
      expect(shape(`blk.${i}.ffn_down.weight`)).toEqual([14336, 4096]);
    }
    for (const t of plan) {
      expect(t.type).toBe(t.dims.length === 1 ? GgmlType.F32 : GgmlType.Q4_0);
    }
  });

  it("gives qwen2 q/k/v biases and ties its embeddings", () => {
    const plan = planTensors(preset("qwen2.5-0.5b"), "q8_0");
    const names = plan.map((t) => t.name);
    expect(names).not.toContain("output.weight");
    expect(names).not.toContain("rope_freqs.weight");
    const t = (name: string) => plan.find((x) => x.name === name)!;
    expect(t("blk.0.attn_q.bias").dims).toEqual([896]);
    expect(t("blk.0.attn_k.bias").dims).toEqual([128]);
    expect(t("blk.0.attn_v.bias").dims).toEqual([128]);
    expect(t("blk.0.attn_k.weight").dims).toEqual([896, 128]);
    expect(t("blk.23.ffn_down.weight").dims).toEqual([4864, 896]);
    expect(t("token_embd.weight").dims).toEqual([896, 151936]);
  });

  it("counts parameters as the real models do", () => {
    expect(parameterCount(preset("llama-3.1-8b")) / 1e9).toBeCloseTo(8.03, 2);
    expect(parameterCount(preset("llama-3.2-1b")) / 1e9).toBeCloseTo(1.24, 2);
    expect(parameterCount(preset("qwen2.5-0.5b")) / 1e9).toBeCloseTo(0.494, 3);
    const p100m = parameterCount(preset("llama-100m"));
    expect(p100m).toBeGreaterThan(90e6);
    expect(p100m).toBeLessThan(110e6);
  });

  it("keeps every quantized row a whole number of 32-element blocks", () => {
    for (const p of PRESETS) {
      for (const t of planTensors(p, "q4_0")) {
        if (t.type !== GgmlType.F32) expect(t.dims[0]! % 32).toBe(0);
      }
      expect(p.hidden % p.heads).toBe(0);
      expect(p.heads % p.kvHeads).toBe(0);
    }
  });

  it("computes Llama 3 RoPE factors like convert_hf_to_gguf.py", () => {
    const f = ropeFreqFactors(preset("llama-3.1-8b"));
    expect(f).toHaveLength(64);
    // High-frequency pairs are untouched, low-frequency ones divided by the factor (8).
    expect(f[0]).toBe(1);
    expect(f[63]).toBe(8);
    for (let i = 1; i < 64; i++) expect(f[i]!).toBeGreaterThanOrEqual(f[i - 1]!);
    expect(ropeFreqFactors(preset("llama-3.2-1b"))[31]).toBe(32);
  });
});
