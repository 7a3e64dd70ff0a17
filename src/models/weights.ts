/**
 * Synthetic tensor values, encoded chunk by chunk. Each fixed-size segment of a tensor draws from
 * its own PRNG stream keyed by (seed, tensor name, segment index), so the bytes depend only on the
 * spec, never on chunking or on the order tensors are produced in.
 */

import type { Preset } from "./presets.js";
import { hashString, Xoshiro128 } from "./prng.js";
import { encode, encodedBytes } from "./quantize.js";
import { type PlannedTensor, ropeFreqFactors } from "./tensor-plan.js";

/** Elements per segment: a whole number of 32-element quant blocks (rows never straddle one). */
export const SEGMENT_ELEMENTS = 1 << 20;

/** Half-width of the uniform distribution of biases. */
const BIAS_AMPLITUDE = 0.02;

/** The tensor's encoded bytes, one fresh buffer per segment. */
export function* tensorChunks(t: PlannedTensor, preset: Preset, seed: number): Generator<Uint8Array> {
  const init = t.init;
  if (init.kind === "ones" || init.kind === "rope-freqs") {
    const values = init.kind === "ones" ? new Float32Array(t.elements).fill(1) : ropeFreqFactors(preset);
    const out = new Uint8Array(encodedBytes(t.type, values.length));
    encode(t.type, values, out);
    yield out;
    return;
  }
  const amplitude = init.kind === "bias" ? BIAS_AMPLITUDE : Math.sqrt(3 / init.fanIn);
  const nameHash = hashString(t.name);
  const scratch = new Float32Array(Math.min(SEGMENT_ELEMENTS, t.elements));
  for (let start = 0, segment = 0; start < t.elements; start += SEGMENT_ELEMENTS, segment++) {
    const n = Math.min(SEGMENT_ELEMENTS, t.elements - start);
    const values = n === scratch.length ? scratch : scratch.subarray(0, n);
    new Xoshiro128(seed, nameHash, segment).fillUniform(values, amplitude);
    const out = new Uint8Array(encodedBytes(t.type, n));
    encode(t.type, values, out);
    yield out;
  }
}
