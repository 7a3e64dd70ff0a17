/** Shared by the model tests: temp dirs, an independent GGUF parse, and ggml dequantizers. */
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type GGUFParseOutput, type GGUFTypedMetadata, gguf } from "@huggingface/gguf";

export function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "tokenforge-models-"));
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await makeTempDir();
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export type HfParsed = GGUFParseOutput & { typedMetadata: GGUFTypedMetadata; kv: Record<string, unknown> };

/**
 * Parses a local GGUF file with @huggingface/gguf, an implementation independent of ours; `kv` is
 * its metadata without the library's per-architecture typing.
 */
export async function parseWithHf(path: string): Promise<HfParsed> {
  const parsed = await gguf(path, { allowLocalFile: true, typedMetadata: true });
  return { ...parsed, kv: parsed.metadata as unknown as Record<string, unknown> };
}

/** Reads `length` bytes at `position` of a file. */
export async function readBytes(path: string, position: number, length: number): Promise<Buffer> {
  const file = await open(path, "r");
  try {
    const buf = Buffer.alloc(length);
    await file.read(buf, 0, length, position);
    return buf;
  } finally {
    await file.close();
  }
}

/** Reference half -> float, written independently of src/models/quantize.ts. */
export function halfToFloat(h: number): number {
  const buf = new DataView(new ArrayBuffer(4));
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return (h & 0x8000 ? -1 : 1) * mant * 2 ** -24;
  if (exp === 31) return mant ? Number.NaN : (h & 0x8000 ? -1 : 1) * Number.POSITIVE_INFINITY;
  buf.setUint32(0, sign | ((exp - 15 + 127) << 23) | (mant << 13));
  return buf.getFloat32(0);
}

/** ggml's dequantize_row_q8_0: x = d * q. */
export function dequantizeQ8_0(bytes: Uint8Array): { values: Float32Array; scales: Float32Array } {
  const blocks = bytes.length / 34;
  const values = new Float32Array(blocks * 32);
  const scales = new Float32Array(blocks);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < blocks; b++) {
    const d = halfToFloat(view.getUint16(b * 34, true));
    scales[b] = d;
    for (let j = 0; j < 32; j++) values[b * 32 + j] = d * view.getInt8(b * 34 + 2 + j);
  }
  return { values, scales };
}

/** ggml's dequantize_row_q4_0: byte j holds element j (low nibble) and j + 16 (high); x = d * (q - 8). */
export function dequantizeQ4_0(bytes: Uint8Array): { values: Float32Array; scales: Float32Array } {
  const blocks = bytes.length / 18;
  const values = new Float32Array(blocks * 32);
  const scales = new Float32Array(blocks);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < blocks; b++) {
    const d = halfToFloat(view.getUint16(b * 18, true));
    scales[b] = d;
    for (let j = 0; j < 16; j++) {
      const byte = bytes[b * 18 + 2 + j]!;
      values[b * 32 + j] = d * ((byte & 0x0f) - 8);
      values[b * 32 + 16 + j] = d * ((byte >> 4) - 8);
    }
  }
  return { values, scales };
}

export function dequantizeF16(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
  return out;
}
