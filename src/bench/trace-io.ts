/**
 * Per-request traces on disk: one JSON line per request, appended as each request completes, so a
 * run of any length holds only the requests in flight. Each line also names its workload and
 * runtime. A phase is read back for aggregation by the byte range it wrote.
 */
import { closeSync, fstatSync, fsync, openSync, readSync, write } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import type { RequestTrace } from "./types.js";

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Appends trace lines without blocking the event loop: lines are batched and written by libuv's
 * thread pool, so a slow disk never delays a scheduled send or a chunk's timestamp.
 */
export class TraceWriter {
  private readonly fd: number;
  private pending: string[] = [];
  private pendingBytes = 0;
  /** Bytes handed to the file so far (written or in flight), from its start. */
  private position: number;
  private inFlight: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  written = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, "a");
    this.position = fstatSync(this.fd).size;
  }

  /** Byte offset after everything written so far, once it is on disk. */
  async offset(): Promise<number> {
    this.flush();
    await this.inFlight;
    if (this.failure) throw this.failure;
    return this.position;
  }

  write(workload: string, runtime: string, t: RequestTrace): void {
    const line = `${JSON.stringify({ workload, runtime, ...roundTrace(t) })}\n`;
    this.pending.push(line);
    this.pendingBytes += line.length;
    this.written++;
    if (this.pendingBytes > 1 << 16) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const buf = Buffer.from(this.pending.join(""), "utf8");
    this.pending = [];
    this.pendingBytes = 0;
    this.position += buf.length;
    // Writes are chained, so the file keeps the order the lines were written in.
    this.inFlight = this.inFlight
      .then(() => writeAll(this.fd, buf))
      .catch((err: Error) => {
        this.failure ??= err;
      });
  }

  async close(): Promise<void> {
    this.flush();
    await this.inFlight;
    await new Promise<void>((resolve) => fsync(this.fd, () => resolve()));
    closeSync(this.fd);
    if (this.failure) throw this.failure;
  }
}

async function writeAll(fd: number, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    off += await new Promise<number>((resolve, reject) =>
      write(fd, buf, off, buf.length - off, null, (err, n) => (err ? reject(err) : resolve(n))),
    );
  }
}

function roundTrace(t: RequestTrace): RequestTrace {
  const out: RequestTrace = {
    ...t,
    scheduledMs: round3(t.scheduledMs),
    sendMs: round3(t.sendMs),
    chunkMs: t.chunkMs.map(round3),
  };
  if (t.headersMs !== undefined) out.headersMs = round3(t.headersMs);
  if (t.endMs !== undefined) out.endMs = round3(t.endMs);
  if (t.firstOutputMs !== undefined) out.firstOutputMs = round3(t.firstOutputMs);
  return out;
}

/** Reads traces back from `start` to `end` (byte offsets), one at a time, synchronously. */
export function* readTraces(
  path: string,
  start = 0,
  end = Number.POSITIVE_INFINITY,
): Generator<RequestTrace> {
  const fd = openSync(path, "r");
  try {
    const chunk = Buffer.allocUnsafe(1 << 20);
    let pos = start;
    let carry = "";
    const decoder = new StringDecoder("utf8");
    while (pos < end) {
      const want = Math.min(chunk.length, end - pos);
      const n = readSync(fd, chunk, 0, want, pos);
      if (n === 0) break;
      pos += n;
      const text = carry + decoder.write(chunk.subarray(0, n));
      const lines = text.split("\n");
      carry = lines.pop() ?? "";
      for (const line of lines) if (line.length > 0) yield JSON.parse(line) as RequestTrace;
    }
    carry += decoder.end();
    if (carry.length > 0) yield JSON.parse(carry) as RequestTrace;
  } finally {
    closeSync(fd);
  }
}
