/**
 * GGUF v3 writer (little-endian): header, key/value metadata, tensor infos, then each tensor's
 * data at a multiple of `general.alignment`. Tensor data is pulled from generators chunk by chunk
 * and streamed to the file, so a multi-gigabyte model never sits in memory; the next chunk is
 * computed while the previous one is being written.
 */
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import type { GgmlType } from "./quantize.js";

/** gguf_type ids (gguf.h). */
const ValueType = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;

/** A metadata value with its GGUF type; llama.cpp rejects keys stored with the wrong type. */
export type GgufValue =
  | { type: "u32" | "i32" | "f32"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "array"; itemType: "string"; value: readonly string[] }
  | { type: "array"; itemType: "i32" | "f32"; value: readonly number[] };

export const gv = {
  u32: (value: number): GgufValue => ({ type: "u32", value }),
  i32: (value: number): GgufValue => ({ type: "i32", value }),
  f32: (value: number): GgufValue => ({ type: "f32", value }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  str: (value: string): GgufValue => ({ type: "string", value }),
  strings: (value: readonly string[]): GgufValue => ({ type: "array", itemType: "string", value }),
  i32s: (value: readonly number[]): GgufValue => ({ type: "array", itemType: "i32", value }),
};

export type GgufMetadata = ReadonlyArray<readonly [key: string, value: GgufValue]>;

export interface GgufTensorSource {
  name: string;
  /** Innermost first (ne[0] = row length). */
  dims: readonly number[];
  type: GgmlType;
  /** Encoded size; the chunks must add up to exactly this. */
  bytes: number;
  /** The tensor's encoded bytes in order. Each chunk must be a fresh buffer (it is written later). */
  chunks(): Iterable<Uint8Array>;
}

export const DEFAULT_ALIGNMENT = 32;

/** Appends little-endian values to a growing buffer. */
class ByteSink {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u32(v: number): void {
    this.reserve(4);
    this.buf.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.buf.writeInt32LE(v, this.length);
    this.length += 4;
  }
  f32(v: number): void {
    this.reserve(4);
    this.buf.writeFloatLE(v, this.length);
    this.length += 4;
  }
  u64(v: number): void {
    // Two u32 halves: a BigInt per string length is measurable over 250k vocabulary strings.
    this.reserve(8);
    this.buf.writeUInt32LE(v % 0x100000000, this.length);
    this.buf.writeUInt32LE(Math.floor(v / 0x100000000), this.length + 4);
    this.length += 8;
  }
  u8(v: number): void {
    this.reserve(1);
    this.buf[this.length++] = v;
  }
  str(s: string): void {
    const n = Buffer.byteLength(s, "utf8");
    this.u64(n);
    this.reserve(n);
    this.buf.write(s, this.length, "utf8");
    this.length += n;
  }
  zeros(n: number): void {
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function writeValue(sink: ByteSink, v: GgufValue): void {
  switch (v.type) {
    case "u32":
      sink.u32(ValueType.u32);
      sink.u32(v.value);
      return;
    case "i32":
      sink.u32(ValueType.i32);
      sink.i32(v.value);
      return;
    case "f32":
      sink.u32(ValueType.f32);
      sink.f32(v.value);
      return;
    case "bool":
      sink.u32(ValueType.bool);
      sink.u8(v.value ? 1 : 0);
      return;
    case "string":
      sink.u32(ValueType.string);
      sink.str(v.value);
      return;
    case "array":
      sink.u32(ValueType.array);
      sink.u32(ValueType[v.itemType]);
      sink.u64(v.value.length);
      if (v.itemType === "string") for (const s of v.value) sink.str(s);
      else if (v.itemType === "i32") for (const n of v.value) sink.i32(n);
      else for (const n of v.value) sink.f32(n);
      return;
  }
}

export function alignmentOf(metadata: GgufMetadata): number {
  const entry = metadata.find(([k]) => k === "general.alignment");
  if (!entry) return DEFAULT_ALIGNMENT;
  const a = entry[1].value;
  if (entry[1].type !== "u32" || typeof a !== "number" || a <= 0 || (a & (a - 1)) !== 0) {
    throw new Error("general.alignment must be a u32 power of two");
  }
  return a;
}

function padTo(n: number, alignment: number): number {
  return (alignment - (n % alignment)) % alignment;
}

/** Everything before the tensor data: header, metadata, tensor infos, and (if `pad`) padding. */
export function encodeHeader(
  metadata: GgufMetadata,
  tensors: readonly GgufTensorSource[],
  pad = true,
): Buffer {
  const alignment = alignmentOf(metadata);
  const sink = new ByteSink();
  sink.u32(0x46554747); // "GGUF" read as a little-endian u32
  sink.u32(3);
  sink.u64(tensors.length);
  sink.u64(metadata.length);
  for (const [key, value] of metadata) {
    sink.str(key);
    writeValue(sink, value);
  }
  let offset = 0;
  for (const t of tensors) {
    sink.str(t.name);
    sink.u32(t.dims.length);
    for (const d of t.dims) sink.u64(d);
    sink.u32(t.type);
    sink.u64(offset);
    offset += t.bytes + padTo(t.bytes, alignment);
  }
  if (pad) sink.zeros(padTo(sink.length, alignment));
  return sink.bytes();
}

export interface GgufWriteResult {
  bytes: number;
  /** sha256 of the whole file, computed while writing. */
  sha256: string;
}

/** Chunks smaller than this are gathered so that norms and biases don't cost a write each. */
const COALESCE_BYTES = 1 << 20;

/**
 * Writes a GGUF file at `path`, which must not exist, and fsyncs it. `onProgress` gets the bytes
 * written so far and the total after each write.
 */
export async function writeGguf(
  path: string,
  metadata: GgufMetadata,
  tensors: readonly GgufTensorSource[],
  onProgress?: (written: number, total: number) => void,
): Promise<GgufWriteResult> {
  const alignment = alignmentOf(metadata);
  const header = encodeHeader(metadata, tensors);
  const total = header.length + tensors.reduce((s, t) => s + t.bytes + padTo(t.bytes, alignment), 0);
  const hash = createHash("sha256");
  const file = await open(path, "wx");
  let written = 0;
  let inFlight: Promise<void> = Promise.resolve();
  let staged: Uint8Array[] = [];
  let stagedBytes = 0;

  // Starts writing `buf` once the previous write finished; the caller goes on producing meanwhile.
  const submit = async (buf: Uint8Array): Promise<void> => {
    hash.update(buf);
    await inFlight;
    inFlight = file.write(buf).then(({ bytesWritten }) => {
      if (bytesWritten !== buf.length) throw new Error(`short write to ${path}`);
      written += buf.length;
      onProgress?.(written, total);
    });
    // Handled here so a failure while we compute the next chunk is not an unhandled rejection;
    // the next `await inFlight` still throws it.
    inFlight.catch(() => {});
  };
  const flushStaged = async (): Promise<void> => {
    if (stagedBytes === 0) return;
    const joined = staged.length === 1 ? staged[0]! : Buffer.concat(staged, stagedBytes);
    staged = [];
    stagedBytes = 0;
    await submit(joined);
  };
  const push = async (buf: Uint8Array): Promise<void> => {
    if (buf.length >= COALESCE_BYTES) {
      await flushStaged();
      await submit(buf);
      return;
    }
    staged.push(buf);
    stagedBytes += buf.length;
    if (stagedBytes >= COALESCE_BYTES) await flushStaged();
  };

  try {
    await push(header);
    for (const t of tensors) {
      let n = 0;
      for (const chunk of t.chunks()) {
        n += chunk.length;
        await push(chunk);
      }
      if (n !== t.bytes) throw new Error(`tensor ${t.name}: produced ${n} bytes, expected ${t.bytes}`);
      const pad = padTo(n, alignment);
      if (pad > 0) await push(new Uint8Array(pad));
    }
    await flushStaged();
    await inFlight;
    await file.sync();
  } finally {
    await inFlight.catch(() => {});
    await file.close();
  }
  if (written !== total) throw new Error(`wrote ${written} bytes to ${path}, expected ${total}`);
  return { bytes: written, sha256: hash.digest("hex") };
}
