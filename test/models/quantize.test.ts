import { describe, expect, it } from "vitest";
import { Xoshiro128 } from "../../src/models/prng.js";
import { encode, encodedBytes, f16ToF32, f32ToF16, GgmlType } from "../../src/models/quantize.js";
import { dequantizeF16, dequantizeQ4_0, dequantizeQ8_0, halfToFloat } from "./helpers.js";

function randomValues(n: number, amplitude: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  new Xoshiro128(seed).fillUniform(out, amplitude);
  return out;
}

function encoded(type: GgmlType, src: Float32Array): Uint8Array {
  const out = new Uint8Array(encodedBytes(type, src.length));
  encode(type, src, out);
  return out;
}

describe("f16", () => {
  it("converts exactly representable values and rounds to nearest even", () => {
    expect(f32ToF16(1)).toBe(0x3c00);
    expect(f32ToF16(-2)).toBe(0xc000);
    expect(f32ToF16(0)).toBe(0);
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(1e6)).toBe(0x7c00);
    expect(f32ToF16(2 ** -24)).toBe(0x0001);
    expect(f32ToF16(Number.NaN) & 0x7c00).toBe(0x7c00);
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1).
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00);
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it("round-trips through the reference decoder within half an ulp", () => {
    const src = randomValues(4096, 3);
    const back = dequantizeF16(encoded(GgmlType.F16, src));
    for (let i = 0; i < src.length; i++) {
      expect(Math.abs(back[i]! - src[i]!)).toBeLessThanOrEqual(Math.abs(src[i]!) * 2 ** -11 + 2 ** -25);
      expect(f16ToF32(f32ToF16(src[i]!))).toBe(back[i]);
    }
    for (const h of [0x0001, 0x03ff, 0x3c00, 0xbc01, 0x7bff]) expect(f16ToF32(h)).toBe(halfToFloat(h));
  });
});

describe("Q8_0", () => {
  it("is 34-byte blocks of an f16 scale and 32 int8s, within half a step of the input", () => {
    const src = randomValues(32 * 256, 0.05);
    const bytes = encoded(GgmlType.Q8_0, src);
    expect(bytes.length).toBe(256 * 34);
    const { values, scales } = dequantizeQ8_0(bytes);
    for (let b = 0; b < 256; b++) {
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(src[b * 32 + j]!));
      expect(scales[b]).toBeCloseTo(amax / 127, 6);
      for (let j = 0; j < 32; j++) {
        // Half a step, plus what storing the scale as f16 costs at |q| <= 127.
        const bound = scales[b]! * (0.5 + 127 * 2 ** -11) + 1e-9;
        expect(Math.abs(values[b * 32 + j]! - src[b * 32 + j]!)).toBeLessThanOrEqual(bound);
      }
    }
  });

  it("maps the largest magnitude to +-127 and rounds halves away from zero", () => {
    const src = new Float32Array(32);
    src[0] = 127;
    src[1] = -127;
    src[2] = 2.5;
    src[3] = -2.5;
    src[4] = -0.5;
    const bytes = encoded(GgmlType.Q8_0, src);
    const q = new Int8Array(bytes.buffer, 2, 32);
    expect([q[0], q[1], q[2], q[3], q[4], q[5]]).toEqual([127, -127, 3, -3, -1, 0]);
    expect(halfToFloat(bytes[0]! | (bytes[1]! << 8))).toBe(1);
  });
});

describe("Q4_0", () => {
  it("packs element j in the low nibble and j + 16 in the high nibble of byte j", () => {
    // Element i has value i - 16 (so the largest magnitude is -16, d = 2): q = x / d + 8.
    const src = Float32Array.from({ length: 32 }, (_, i) => i - 16);
    const bytes = encoded(GgmlType.Q4_0, src);
    expect(bytes.length).toBe(18);
    expect(halfToFloat(bytes[0]! | (bytes[1]! << 8))).toBe(2);
    for (let j = 0; j < 16; j++) {
      const lo = bytes[2 + j]! & 0x0f;
      const hi = bytes[2 + j]! >> 4;
      expect(lo).toBe(Math.min(15, Math.trunc((j - 16) / 2 + 8.5)));
      expect(hi).toBe(Math.min(15, Math.trunc((j + 16 - 16) / 2 + 8.5)));
    }
  });

  it("dequantizes within one step of the input", () => {
    const src = randomValues(32 * 256, 0.05, 2);
    const { values, scales } = dequantizeQ4_0(encoded(GgmlType.Q4_0, src));
    let sq = 0;
    for (let b = 0; b < 256; b++) {
      const d = Math.abs(scales[b]!);
      for (let j = 0; j < 32; j++) {
        const err = Math.abs(values[b * 32 + j]! - src[b * 32 + j]!);
        // Half a step normally; a full step where the top code (15) clamps the positive side.
        expect(err).toBeLessThanOrEqual(d * (1 + 8 * 2 ** -11) + 1e-9);
        sq += err * err;
      }
    }
    // For uniform data the error is mostly within half a step: RMS about d / sqrt(12).
    const rms = Math.sqrt(sq / src.length);
    expect(rms).toBeLessThan((0.05 / 8) * 0.45);
  });
});
