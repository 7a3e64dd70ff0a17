/**
 * Artifacts in an S3-compatible bucket (AWS S3, MinIO, …) under `<prefix>/<runId>/<name>`.
 *
 * Every put lands in a local spool directory first and is listed in the spool's pending index
 * before the upload starts; a successful upload removes both. An upload that fails (or a process
 * that dies mid-upload) leaves the bytes and the entry in place: `put` answers with the spooled
 * file's URI and `uploaded: false` instead of throwing, and `retryPending()` uploads what is left.
 * So a result is never lost to an unreachable bucket.
 */
import { randomUUID } from "node:crypto";
import { readFile, rm, rmdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { TokenForgeError } from "../../errors.js";
import type { ArtifactStore } from "../../spec/store.js";
import { writeFileAtomic } from "./atomic-write.js";
import { checkArtifactPath } from "./names.js";
import { type PendingEntry, PendingIndex } from "./pending-index.js";

/** An artifact that `retryPending()` has just uploaded. */
export interface UploadedArtifact {
  runId: string;
  name: string;
  uri: string;
  bytes: number;
  contentType: string;
}

export interface S3ArtifactStoreOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix: "tokenforge" stores `tokenforge/<runId>/<name>`. */
  prefix?: string;
  /** Local directory for copies waiting to be uploaded (created on first use). */
  spoolDir: string;
  /** One upload or download gives up after this long (default 120 s); a put's copy stays spooled. */
  timeoutMs?: number;
  /** Told about each artifact `retryPending()` uploads, e.g. to mark its row uploaded. */
  onUploaded?: (artifact: UploadedArtifact) => void | Promise<void>;
  /** Destroy `client` on `close()` (set when the store created the client). */
  ownsClient?: boolean;
}

const GZIP_TYPES = new Set(["application/gzip", "application/x-gzip"]);

export class S3ArtifactStore implements ArtifactStore {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  readonly spoolDir: string;
  private readonly pending: PendingIndex;
  private readonly timeoutMs: number;
  /** Tokens of uploads running now, so a retry never races the put that started them. */
  private readonly inFlight = new Set<string>();
  private retrying: Promise<number> | undefined;

  constructor(private readonly opts: S3ArtifactStoreOptions) {
    this.client = opts.client;
    this.bucket = opts.bucket;
    this.prefix = (opts.prefix ?? "").replace(/^\/+|\/+$/g, "");
    this.spoolDir = resolve(opts.spoolDir);
    this.pending = new PendingIndex(this.spoolDir);
    this.timeoutMs = opts.timeoutMs ?? 120_000;
  }

  /** The object key of `runId/name` (after checking both). */
  keyOf(runId: string, name: string): string {
    checkArtifactPath(runId, name);
    return this.prefix === "" ? `${runId}/${name}` : `${this.prefix}/${runId}/${name}`;
  }

  /** Where a copy waiting for upload lives (after checking both). */
  spoolPathOf(runId: string, name: string): string {
    checkArtifactPath(runId, name);
    return join(this.spoolDir, runId, ...name.split("/"));
  }

  /** What is waiting for an upload now. */
  listPending(): Promise<PendingEntry[]> {
    return this.pending.list();
  }

  async put(runId: string, name: string, body: Buffer, contentType: string) {
    const key = this.keyOf(runId, name);
    const spoolPath = this.spoolPathOf(runId, name);
    const token = randomUUID();
    let spoolError: unknown;
    try {
      await writeFileAtomic(spoolPath, body);
      const entry: PendingEntry = {
        runId,
        name,
        contentType,
        bytes: body.length,
        token,
        since: new Date().toISOString(),
        attempts: 0,
      };
      await this.pending.update((es) => [...es.filter((e) => !same(e, runId, name)), entry]);
    } catch (err) {
      spoolError = err;
    }
    this.inFlight.add(token);
    try {
      const uploadError = await this.upload(key, body, contentType);
      if (uploadError === undefined) {
        if (spoolError === undefined) await this.settle(runId, name, token).catch(() => {});
        return { uri: this.uriOf(key), uploaded: true };
      }
      if (spoolError !== undefined) {
        throw new TokenForgeError(
          "io_error",
          `artifact ${runId}/${name} could neither be uploaded to ${this.uriOf(key)} (${describe(uploadError)}) ` +
            `nor kept in the spool ${spoolPath} (${describe(spoolError)})`,
          { cause: uploadError },
        );
      }
      await this.recordFailure(token, uploadError);
      return { uri: pathToFileURL(spoolPath).href, uploaded: false };
    } finally {
      this.inFlight.delete(token);
    }
  }

  async get(runId: string, name: string): Promise<Buffer | undefined> {
    const key = this.keyOf(runId, name);
    const spoolPath = this.spoolPathOf(runId, name);
    // A copy waiting for upload is newer than whatever the bucket holds.
    if ((await this.pending.list()).some((e) => same(e, runId, name))) {
      const local = await readIfThere(spoolPath);
      if (local !== undefined) return local;
    }
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
        abortSignal: AbortSignal.timeout(this.timeoutMs),
      });
      if (res.Body === undefined) return Buffer.alloc(0);
      return Buffer.from(await res.Body.transformToByteArray());
    } catch (err) {
      const local = await readIfThere(spoolPath);
      if (local !== undefined) return local;
      if (isNoSuchKey(err)) return undefined;
      throw new TokenForgeError("io_error", `cannot read ${this.uriOf(key)}: ${describe(err)}`, {
        cause: err,
      });
    }
  }

  /** Uploads every spooled artifact; returns how many are still pending. One retry runs at a time. */
  retryPending(): Promise<number> {
    this.retrying ??= this.retryAll().finally(() => {
      this.retrying = undefined;
    });
    return this.retrying;
  }

  async close(): Promise<void> {
    await this.retrying?.catch(() => {});
    if (this.opts.ownsClient) this.client.destroy();
  }

  private async retryAll(): Promise<number> {
    let callbackError: unknown;
    for (const e of await this.pending.list()) {
      if (this.inFlight.has(e.token)) continue;
      const body = await readIfThere(this.spoolPathOf(e.runId, e.name));
      if (body === undefined) {
        // Its file was removed by hand: nothing is left to upload.
        await this.pending.update((es) => es.filter((x) => x.token !== e.token));
        continue;
      }
      this.inFlight.add(e.token);
      try {
        const key = this.keyOf(e.runId, e.name);
        const uploadError = await this.upload(key, body, e.contentType);
        if (uploadError !== undefined) {
          await this.recordFailure(e.token, uploadError);
          continue;
        }
        await this.settle(e.runId, e.name, e.token);
        const done = { runId: e.runId, name: e.name, uri: this.uriOf(key), bytes: body.length };
        await Promise.resolve(this.opts.onUploaded?.({ ...done, contentType: e.contentType })).catch(
          (err) => {
            callbackError ??= err;
          },
        );
      } finally {
        this.inFlight.delete(e.token);
      }
    }
    const remaining = (await this.pending.list()).length;
    if (callbackError !== undefined) throw callbackError;
    return remaining;
  }

  /** Uploads one object; answers the error instead of throwing it. */
  private async upload(key: string, body: Buffer, contentType: string): Promise<unknown> {
    const gzip = key.endsWith(".gz") && !GZIP_TYPES.has(contentType.toLowerCase());
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          ContentType: contentType,
          ...(gzip ? { ContentEncoding: "gzip" } : {}),
        }),
        { abortSignal: AbortSignal.timeout(this.timeoutMs) },
      );
      return undefined;
    } catch (err) {
      return err ?? new Error("upload failed");
    }
  }

  /** After an upload: drops the entry and the spooled copy, unless a newer put replaced them. */
  private async settle(runId: string, name: string, token: string): Promise<void> {
    let ours = false;
    await this.pending.update((es) =>
      es.filter((e) => {
        if (e.token !== token) return true;
        ours = true;
        return false;
      }),
    );
    if (!ours) return;
    const path = this.spoolPathOf(runId, name);
    await rm(path, { force: true });
    // Empty run folders go too; a folder that still holds something stays (rmdir refuses).
    let dir = dirname(path);
    while (dir.startsWith(this.spoolDir) && dir !== this.spoolDir) {
      const removed = await rmdir(dir).then(
        () => true,
        () => false,
      );
      if (!removed) break;
      dir = dirname(dir);
    }
  }

  private async recordFailure(token: string, err: unknown): Promise<void> {
    await this.pending
      .update((es) =>
        es.map((e) => (e.token === token ? { ...e, attempts: e.attempts + 1, lastError: describe(err) } : e)),
      )
      .catch(() => {});
  }

  private uriOf(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }
}

function same(e: PendingEntry, runId: string, name: string): boolean {
  return e.runId === runId && e.name === name;
}

async function readIfThere(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function isNoSuchKey(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e.name === "NoSuchKey" ||
    e.name === "NotFound" ||
    (e.$metadata?.httpStatusCode === 404 && e.name !== "NoSuchBucket")
  );
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: string }).code;
  return `${err.name}${code !== undefined && code !== err.name ? ` ${code}` : ""}: ${err.message}`;
}
