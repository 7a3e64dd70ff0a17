/**
 * Tensor encodings in ggml's exact byte layouts: F32, F16, Q8_0 and Q4_0. The quantizers follow
 * ggml's reference (`quantize_row_q8_0_ref`, `quantize_row_q4_0_ref`) so llama.cpp reads back the
 * values we meant, and each is one tight loop over a Float32Array.
 */

/** The quantizations TokenForge writes, by their llama.cpp names. */
export const QUANTS = ["f32", "f16", "q8_0", "q4_0"] as const;
export type Quant = (typeof QUANTS)[number];

export function isQuant(s: string): s is Quant {
  return (QUANTS as readonly string[]).includes(s);
}

/** ggml_type ids (ggml.h). */
export const GgmlType = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8 } as const;
export type GgmlType = (typeof GgmlType)[keyof typeof GgmlType];

/** ggml tensor type for a quant name. */
export const QUANT_TYPE: Record<Quant, GgmlType> = {
  f32: GgmlType.F32,
  f16: GgmlType.F16,
  q8_0: GgmlType.Q8_0,
  q4_0: GgmlType.Q4_0,
};

/** llama_ftype ids (`general.file_type`): "mostly" this type, norms staying F32. */
export const FILE_TYPE: Record<Quant, number> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7 };

/** Elements per block and bytes per block of each type. */
const BLOCK: Record<GgmlType, { elements: number; bytes: number }> = {
  [GgmlType.F32]: { elements: 1, bytes: 4 },
  [GgmlType.F16]: { elements: 1, bytes: 2 },
  [GgmlType.Q8_0]: { elements: 32, bytes: 34 },
  [GgmlType.Q4_0]: { elements: 32, bytes: 18 },
};

export function blockElements(type: GgmlType): number {
  return BLOCK[type].elements;
}

/** Bytes a tensor of `elements` values takes; blocked types need a multiple of their block. */
export function encodedBytes(type: GgmlType, elements: number): number {
  const b = BLOCK[type];
  if (elements % b.elements !== 0) {
    throw new Error(`${elements} elements is not a whole number of ${b.elements}-element blocks`);
  }
  return (elements / b.elements) * b.bytes;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE half bits for a float, rounding to nearest even as F16C's `_cvtss_sh` does. */
export function f32ToF16(value: number): number {
  f32Scratch[0] = value;
  return f32BitsToF16(u32Scratch[0]!);
}

/** IEEE half bits from IEEE single bits. */
function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 112;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  // A rounding carry out of the mantissa correctly bumps the exponent (up to infinity).
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

/** Float value of IEEE half bits. */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Encodes `src` as `type` into `out` (little-endian), which must hold encodedBytes(type, src.length). */
export function encode(type: GgmlType, src: Float32Array, out: Uint8Array): void {
  switch (type) {
    case GgmlType.F32:
      out.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
      return;
    case GgmlType.F16:
      encodeF16(src, out);
      return;
    case GgmlType.Q8_0:
      quantizeQ8_0(src, out);
      return;
    case GgmlType.Q4_0:
      quantizeQ4_0(src, out);
      return;
  }
}

function encodeF16(src: Float32Array, out: Uint8Array): void {
  // Reading the float bits through a view avoids a scratch round trip per element.
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0, o = 0; i < bits.length; i++, o += 2) {
    const h = f32BitsToF16(bits[i]!);
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
  }
}

/** Q8_0 block: f16 scale d = max|x| / 127, then 32 int8 values round(x / d). */
function quantizeQ8_0(src: Float32Array, out: Uint8Array): void {
  const blocks = src.length >>> 5;
  for (let b = 0; b < blocks; b++) {
    const base = b << 5;
    let amax = 0;
    for (let j = 0; j < 32; j++) {
      const a = Math.abs(src[base + j]!);
      if (a > amax) amax = a;
    }
    const d = Math.fround(amax / 127);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const o = b * 34;
    const h = f32ToF16(d);
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
    for (let j = 0; j < 32; j++) {
      // roundf (halves away from zero) as floor(v + 0.5) plus a rarely taken fix for negative
      // halves: Math.round and a sign branch are several times slower here. The int8 is stored
      // as its two's-complement byte.
      const v = Math.fround(src[base + j]! * id);
      let q = Math.floor(v + 0.5);
      if (q - v === 0.5 && v < 0) q -= 1;
      out[o + 2 + j] = q & 0xff;
    }
  }
}

/**
 * Q4_0 block: f16 scale d = (the value of largest magnitude) / -8, then 32 4-bit values
 * min(15, trunc(x / d + 8.5)) packed two per byte: byte j holds element j in its low nibble and
 * element j + 16 in its high nibble.
 */
function quantizeQ4_0(src: Float32Array, out: Uint8Array): void {
  const blocks = src.length >>> 5;
  for (let b = 0; b < blocks; b++) {
    const base = b << 5;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = src[base + j]!;
      const a = Math.abs(v);
      if (a > amax) {
        amax = a;
        max = v;
      }
    }
    const d = Math.fround(max / -8);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const o = b * 18;
    const h = f32ToF16(d);
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
    for (let j = 0; j < 16; j++) {
      const x0 = Math.fround(src[base + j]! * id);
      const x1 = Math.fround(src[base + 16 + j]! * id);
      // x / d lies in [-8, 8], so the sum is positive and `| 0` truncates like the C cast.
      const q0 = Math.min(15, Math.fround(x0 + 8.5) | 0);
      const q1 = Math.min(15, Math.fround(x1 + 8.5) | 0);
      out[o + 2 + j] = q0 | (q1 << 4);
    }
  }
}
