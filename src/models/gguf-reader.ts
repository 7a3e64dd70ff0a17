/**
 * Reads the key/value metadata of a GGUF file (v2 and v3, little-endian) without its tensors:
 * enough to tell a real model's architecture and context length. Arrays (the vocabulary can be
 * megabytes) are skipped and reported by length only.
 */
import { open } from "node:fs/promises";

export type GgufScalar = string | number | bigint | boolean;
export type GgufMetadataValue = GgufScalar | { arrayLength: number };

export interface GgufHeader {
  version: number;
  tensorCount: number;
  metadata: Map<string, GgufMetadataValue>;
}

export class GgufFormatError extends Error {
  override name = "GgufFormatError";
}

const SCALAR_SIZE: Record<number, number> = {
  0: 1,
  1: 1,
  2: 2,
  3: 2,
  4: 4,
  5: 4,
  6: 4,
  7: 1,
  10: 8,
  11: 8,
  12: 8,
};
const STRING = 8;
const ARRAY = 9;
const CHUNK = 1 << 20;

/** Sequential little-endian reads over a file handle, a megabyte at a time. */
class Reader {
  private buf = Buffer.alloc(0);
  private pos = 0;
  private fileOffset = 0;

  constructor(private readonly file: Awaited<ReturnType<typeof open>>) {}

  private async need(n: number): Promise<void> {
    if (this.buf.length - this.pos >= n) return;
    const rest = this.buf.subarray(this.pos);
    const chunk = Buffer.alloc(Math.max(CHUNK, n));
    const { bytesRead } = await this.file.read(chunk, 0, chunk.length, this.fileOffset);
    this.fileOffset += bytesRead;
    this.buf = Buffer.concat([rest, chunk.subarray(0, bytesRead)]);
    this.pos = 0;
    if (this.buf.length < n) throw new GgufFormatError("file ends inside the GGUF header");
  }
  async u32(): Promise<number> {
    await this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  async u64(): Promise<number> {
    await this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufFormatError("implausible length in GGUF header");
    return Number(v);
  }
  async str(): Promise<string> {
    const n = await this.u64();
    await this.need(n);
    const s = this.buf.toString("utf8", this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  skip(n: number): void {
    const buffered = this.buf.length - this.pos;
    if (n <= buffered) {
      this.pos += n;
      return;
    }
    this.fileOffset += n - buffered;
    this.buf = Buffer.alloc(0);
    this.pos = 0;
  }
  async scalar(type: number): Promise<GgufScalar> {
    const size = SCALAR_SIZE[type];
    if (size === undefined) throw new GgufFormatError(`unknown GGUF value type ${type}`);
    await this.need(size);
    const b = this.buf;
    const p = this.pos;
    this.pos += size;
    switch (type) {
      case 0:
        return b.readUInt8(p);
      case 1:
        return b.readInt8(p);
      case 2:
        return b.readUInt16LE(p);
      case 3:
        return b.readInt16LE(p);
      case 4:
        return b.readUInt32LE(p);
      case 5:
        return b.readInt32LE(p);
      case 6:
        return b.readFloatLE(p);
      case 7:
        return b.readUInt8(p) !== 0;
      case 10:
        return b.readBigUInt64LE(p);
      case 11:
        return b.readBigInt64LE(p);
      default:
        return b.readDoubleLE(p);
    }
  }
}

async function skipArray(r: Reader, itemType: number, length: number): Promise<void> {
  if (itemType === STRING) {
    for (let i = 0; i < length; i++) r.skip(await r.u64());
  } else if (itemType === ARRAY) {
    for (let i = 0; i < length; i++) await skipArray(r, await r.u32(), await r.u64());
  } else {
    const size = SCALAR_SIZE[itemType];
    if (size === undefined) throw new GgufFormatError(`unknown GGUF array item type ${itemType}`);
    r.skip(size * length);
  }
}

/** Reads the header and metadata of the GGUF file at `path`; throws GgufFormatError if it is not one. */
export async function readGgufHeader(path: string): Promise<GgufHeader> {
  const file = await open(path, "r");
  try {
    const r = new Reader(file);
    if ((await r.u32()) !== 0x46554747) throw new GgufFormatError("not a GGUF file (bad magic)");
    const version = await r.u32();
    if (version !== 2 && version !== 3) {
      throw new GgufFormatError(
        version > 0xffff ? "big-endian GGUF files are not supported" : `unsupported GGUF version ${version}`,
      );
    }
    const tensorCount = await r.u64();
    const kvCount = await r.u64();
    const metadata = new Map<string, GgufMetadataValue>();
    for (let i = 0; i < kvCount; i++) {
      const key = await r.str();
      const type = await r.u32();
      if (type === STRING) metadata.set(key, await r.str());
      else if (type === ARRAY) {
        const itemType = await r.u32();
        const length = await r.u64();
        await skipArray(r, itemType, length);
        metadata.set(key, { arrayLength: length });
      } else metadata.set(key, await r.scalar(type));
    }
    return { version, tensorCount, metadata };
  } finally {
    await file.close();
  }
}
