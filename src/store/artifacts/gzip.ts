/**
 * Gzip without holding a file in memory (node:zlib through a stream pipeline), and `putFile`, the
 * way a run's files reach an artifact store: JSONL traces are always stored gzipped
 * (`requests.jsonl` → `requests.jsonl.gz`).
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, readFile, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import type { ArtifactRow, ArtifactStore } from "../../spec/store.js";
import { tempPathFor } from "./atomic-write.js";
import { contentTypeFor } from "./names.js";

export interface GzipOptions {
  /** zlib level 1–9 (default 6). */
  level?: number;
  /** Called as input is consumed, with the bytes read so far. */
  onProgress?: (bytesRead: number) => void;
}

/** Streams `src` through gzip into `dest` (written beside it, renamed into place when complete). */
export async function gzipFile(
  src: string,
  dest: string,
  opts: GzipOptions = {},
): Promise<{ bytesIn: number; bytesOut: number }> {
  return transformFile(src, dest, createGzip({ level: opts.level ?? 6 }), opts.onProgress);
}

/** Streams `src` through gunzip into `dest`. */
export async function gunzipFile(src: string, dest: string): Promise<{ bytesIn: number; bytesOut: number }> {
  return transformFile(src, dest, createGunzip());
}

async function transformFile(
  src: string,
  dest: string,
  zlibStream: Transform,
  onProgress?: (bytesRead: number) => void,
): Promise<{ bytesIn: number; bytesOut: number }> {
  let bytesIn = 0;
  let bytesOut = 0;
  const countIn = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytesIn += chunk.length;
      onProgress?.(bytesIn);
      done(null, chunk);
    },
  });
  const countOut = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytesOut += chunk.length;
      done(null, chunk);
    },
  });
  const tmp = tempPathFor(dest);
  try {
    await pipeline(createReadStream(src), countIn, zlibStream, countOut, createWriteStream(tmp));
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { bytesIn, bytesOut };
}

/**
 * Stores the file at `path` as `runId/name`. A `.jsonl` file is gzipped on the way (streamed
 * through a temporary file; `.gz` is added to `name` when missing), so only its compressed bytes
 * are ever in memory. The content type defaults from the name (for `.gz`, that of what is inside).
 * Returns the row to index in the store.
 */
export async function putFile(
  store: ArtifactStore,
  runId: string,
  name: string,
  path: string,
  contentType?: string,
): Promise<ArtifactRow> {
  const jsonl = /\.(jsonl|ndjson)$/i.test(path);
  const stored = jsonl && !name.endsWith(".gz") ? `${name}.gz` : name;
  const type = contentType ?? contentTypeFor(stored);
  let body: Buffer;
  if (stored.endsWith(".gz") && !path.endsWith(".gz")) {
    const dir = await mkdtemp(join(tmpdir(), "tokenforge-gzip-"));
    try {
      const gz = join(dir, "artifact.gz");
      await gzipFile(path, gz);
      body = await readFile(gz);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  } else {
    body = await readFile(path);
  }
  const where = await store.put(runId, stored, body, type);
  return {
    runId,
    name: stored,
    uri: where.uri,
    bytes: body.length,
    contentType: type,
    uploaded: where.uploaded,
  };
}
