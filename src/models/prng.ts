/**
 * Seeded pseudo-random numbers for synthetic weights: xoshiro128** seeded through splitmix32.
 * Written here (a few lines) so the bytes of a synthetic model depend on nothing but its spec,
 * never on a library version or on Math.random.
 */

/** One splitmix32 step: a well-mixed 32-bit value from any 32-bit input. */
export function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a over a string's UTF-16 code units: gives each tensor its own stream by name. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}

/** xoshiro128** generator; its state is four 32-bit words. */
export class Xoshiro128 {
  private readonly s = new Uint32Array(4);

  /** Seeds from any number of 32-bit words, so (seed, tensor, segment) maps to one stream. */
  constructor(...words: number[]) {
    let h = 0x6a09e667;
    for (const w of words) h = splitmix32(h ^ (w >>> 0));
    for (let i = 0; i < 4; i++) {
      h = splitmix32(h + i);
      this.s[i] = h;
    }
    // An all-zero state would output zeros forever.
    if ((this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!) === 0) this.s[0] = 1;
  }

  /** The next 32-bit output, as an unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9);
    const t = s[1]! << 9;
    s[2] = s[2]! ^ s[0]!;
    s[3] = s[3]! ^ s[1]!;
    s[1] = s[1]! ^ s[2]!;
    s[0] = s[0]! ^ s[3]!;
    s[2] = s[2]! ^ t;
    s[3] = rotl(s[3]!, 11);
    return r >>> 0;
  }

  /** A uniform float in [0, 1) with 53 random bits (two outputs). */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /**
   * Fills `out` with uniform values in [-amplitude, amplitude), two 16-bit draws per 32-bit
   * output: ample resolution for weights that end up as at most 16-bit floats or 4/8-bit ints, at
   * half the cost. The state lives in locals: this is the hot path for billions of weights.
   */
  fillUniform(out: Float32Array, amplitude: number): void {
    const s = this.s;
    let s0 = s[0]!;
    let s1 = s[1]!;
    let s2 = s[2]!;
    let s3 = s[3]!;
    const scale = (2 * amplitude) / 65536;
    const n = out.length;
    for (let i = 0; i < n; i += 2) {
      const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = rotl(s3, 11);
      out[i] = (r & 0xffff) * scale - amplitude;
      if (i + 1 < n) out[i + 1] = (r >>> 16) * scale - amplitude;
    }
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
