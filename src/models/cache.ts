/**
 * The synthetic model cache: one content-addressed file per spec,
 * `<preset>-<quant>-s<seed>-c<ctx>-<16 hex of sha256(canonical spec)>.gguf`, and beside it
 * `<file>.sha256` holding the hash of its bytes (so a cache hit need not re-read gigabytes).
 *
 * Files appear atomically: written to a dot-prefixed `.tmp` name in the same directory, fsynced,
 * then renamed. A crash leaves only a temp file, which is never taken for a model and is removed
 * by a later write of the same spec once its writer process is gone.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { type SyntheticSpec, WRITER_VERSION, writeSyntheticModel } from "./synthesize.js";
import { tokenizerInfo } from "./vocab.js";

export interface CachedModel {
  path: string;
  sizeBytes: number;
  sha256: string;
  /** True when this call wrote the file, false when it was already cached. */
  written: boolean;
}

export type ProgressFn = (written: number, total: number) => void;

/** Everything the bytes depend on, in a fixed key order: the preset's full shape, not just its name. */
export function canonicalSpec(spec: SyntheticSpec): string {
  return JSON.stringify({
    writerVersion: WRITER_VERSION,
    preset: spec.preset,
    quant: spec.quant,
    seed: spec.seed,
    contextLength: spec.contextLength,
    tokenizer: tokenizerInfo().origin,
  });
}

export function cacheFileName(spec: SyntheticSpec): string {
  const digest = createHash("sha256").update(canonicalSpec(spec)).digest("hex").slice(0, 16);
  return `${spec.preset.name}-${spec.quant}-s${spec.seed}-c${spec.contextLength}-${digest}.gguf`;
}

const TEMP_SUFFIX = ".tmp";

function tempPathFor(finalPath: string): string {
  return join(
    dirname(finalPath),
    `.${basename(finalPath)}.${process.pid}.${randomBytes(4).toString("hex")}${TEMP_SUFFIX}`,
  );
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Deletes temp files for `finalPath` left by writers that no longer run. */
async function removeStaleTemps(finalPath: string): Promise<void> {
  const prefix = `.${basename(finalPath)}.`;
  let names: string[];
  try {
    names = await readdir(dirname(finalPath));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(TEMP_SUFFIX)) continue;
    const pid = Number(name.slice(prefix.length).split(".")[0]);
    if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) {
      await unlink(join(dirname(finalPath), name)).catch(() => {});
    }
  }
}

async function syncDirectory(dir: string): Promise<void> {
  // Makes the rename itself durable; not possible on every platform, and only an optimisation.
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {}
}

/**
 * Runs `write(tempPath)` and moves the result to `finalPath` only if it succeeded; the temp file
 * is removed on failure. `write` must fsync what it wrote.
 */
export async function writeAtomically<T>(
  finalPath: string,
  write: (tempPath: string) => Promise<T>,
): Promise<T> {
  await mkdir(dirname(finalPath), { recursive: true });
  const temp = tempPathFor(finalPath);
  try {
    const result = await write(temp);
    await rename(temp, finalPath);
    await syncDirectory(dirname(finalPath));
    return result;
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
}

async function writeTextAtomically(finalPath: string, text: string): Promise<void> {
  await writeAtomically(finalPath, async (temp) => {
    await writeFile(temp, text, { flag: "wx", flush: true });
  });
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function existingSize(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}

/** The recorded content hash of a cached file, recomputed (and recorded) if missing. */
async function contentHash(path: string): Promise<string> {
  const sidecar = `${path}.sha256`;
  try {
    const text = (await readFile(sidecar, "utf8")).trim();
    if (/^[0-9a-f]{64}$/.test(text)) return text;
  } catch {}
  const sha = await hashFile(path);
  await writeTextAtomically(sidecar, `${sha}\n`);
  return sha;
}

async function materialize(
  finalPath: string,
  spec: SyntheticSpec,
  progress: ProgressFn,
): Promise<CachedModel> {
  const size = await existingSize(finalPath);
  if (size !== undefined) {
    return { path: finalPath, sizeBytes: size, sha256: await contentHash(finalPath), written: false };
  }
  await removeStaleTemps(finalPath);
  const result = await writeAtomically(finalPath, async (temp) => {
    const r = await writeSyntheticModel(spec, temp, progress);
    // The hash is recorded before the model appears, so a visible model always has one.
    await writeTextAtomically(`${finalPath}.sha256`, `${r.sha256}\n`);
    return r;
  });
  return { path: finalPath, sizeBytes: result.bytes, sha256: result.sha256, written: true };
}

interface InFlight {
  promise: Promise<CachedModel>;
  listeners: Set<ProgressFn>;
}

/** Writes in progress in this process, by final path: concurrent resolves share one write. */
const inFlight = new Map<string, InFlight>();

/** The cached file for `spec` in `cacheDir`, writing it first if needed. */
export function ensureCached(
  cacheDir: string,
  spec: SyntheticSpec,
  onProgress?: ProgressFn,
): Promise<CachedModel> {
  const finalPath = join(cacheDir, cacheFileName(spec));
  let entry = inFlight.get(finalPath);
  if (!entry) {
    const listeners = new Set<ProgressFn>();
    const progress: ProgressFn = (w, t) => {
      for (const l of listeners) l(w, t);
    };
    const promise = materialize(finalPath, spec, progress).finally(() => inFlight.delete(finalPath));
    entry = { promise, listeners };
    inFlight.set(finalPath, entry);
  }
  if (onProgress) entry.listeners.add(onProgress);
  return entry.promise;
}
