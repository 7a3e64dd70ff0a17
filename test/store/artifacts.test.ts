import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync, gzipSync } from "node:zlib";
import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TokenForgeError } from "../../src/errors.js";
import {
  artifactConfigFromEnv,
  checkArtifactPath,
  FsArtifactStore,
  gunzipFile,
  gzipFile,
  openArtifactStore,
  putFile,
  S3ArtifactStore,
  startRetryLoop,
  type UploadedArtifact,
} from "../../src/store/artifacts/index.js";
import { PENDING_FILE } from "../../src/store/artifacts/pending-index.js";
import {
  S3_ACCESS_KEY,
  S3_REGION,
  S3_SECRET_KEY,
  type S3TestServer,
  startS3Server,
} from "../helpers/s3-server.js";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "tokenforge-artifacts-"));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Every file under `dir`, relative, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

function expectInvalid(fn: () => unknown, field: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TokenForgeError);
    expect((err as TokenForgeError).code).toBe("invalid_request");
    expect((err as TokenForgeError).field).toBe(field);
    return;
  }
  throw new Error(`expected invalid_request for ${field}`);
}

async function expectInvalidAsync(p: Promise<unknown>, field: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TokenForgeError);
  expect((err as TokenForgeError).code).toBe("invalid_request");
  expect((err as TokenForgeError).field).toBe(field);
}

const BAD_RUN_IDS = ["", ".", "..", "../x", "a/b", "/abs", ".hidden", "a b", "x\0y", "a\\b", "é"];
const BAD_NAMES = [
  "",
  ".",
  "..",
  "../result.json",
  "a/../b",
  "/etc/passwd",
  "a/b/c",
  "vllm/",
  "/x",
  "a//b",
  "x y",
];

describe("artifact names", () => {
  it("accepts a run id and one- or two-part names", () => {
    checkArtifactPath("run-20260101T000000-abc123", "result.json");
    checkArtifactPath("r1", "vllm/chat.vllm.json");
    checkArtifactPath("r1", "requests.jsonl.gz");
    checkArtifactPath("r_1.x", "vllm/.dotted.name.json");
  });

  it("rejects traversal, absolute paths, deep names and odd characters, naming the field", () => {
    for (const id of BAD_RUN_IDS) expectInvalid(() => checkArtifactPath(id, "result.json"), "runId");
    for (const name of BAD_NAMES) expectInvalid(() => checkArtifactPath("r1", name), "name");
  });
});

describe("artifactConfigFromEnv", () => {
  it("defaults to a local directory under TOKENFORGE_HOME", () => {
    expect(artifactConfigFromEnv({ TOKENFORGE_HOME: "/data/tf" })).toEqual({
      kind: "fs",
      dir: "/data/tf/artifacts",
    });
    expect(artifactConfigFromEnv({ TOKENFORGE_ARTIFACTS_DIR: "/a" })).toEqual({ kind: "fs", dir: "/a" });
  });

  it("reads an S3-compatible store with path-style addressing and us-east-1 by default", () => {
    const c = artifactConfigFromEnv({
      TOKENFORGE_HOME: "/data/tf",
      TOKENFORGE_S3_ENDPOINT: "http://127.0.0.1:9000",
      TOKENFORGE_S3_BUCKET: "runs",
      AWS_ACCESS_KEY_ID: "k",
      AWS_SECRET_ACCESS_KEY: "s",
    });
    expect(c).toEqual({
      kind: "s3",
      endpoint: "http://127.0.0.1:9000",
      bucket: "runs",
      region: "us-east-1",
      accessKeyId: "k",
      secretAccessKey: "s",
      forcePathStyle: true,
      spoolDir: "/data/tf/artifact-spool",
    });
    const aws = artifactConfigFromEnv({
      TOKENFORGE_S3_BUCKET: "runs",
      TOKENFORGE_S3_REGION: "eu-west-1",
      TOKENFORGE_S3_FORCE_PATH_STYLE: "false",
      TOKENFORGE_S3_PREFIX: "tokenforge",
      TOKENFORGE_S3_SPOOL_DIR: "/spool",
    });
    expect(aws).toEqual({
      kind: "s3",
      bucket: "runs",
      region: "eu-west-1",
      prefix: "tokenforge",
      forcePathStyle: false,
      spoolDir: "/spool",
    });
  });

  it("names every bad variable at once", () => {
    let err: unknown;
    try {
      artifactConfigFromEnv({
        TOKENFORGE_S3_ENDPOINT: "127.0.0.1:9000",
        TOKENFORGE_S3_BUCKET: "runs",
        TOKENFORGE_S3_FORCE_PATH_STYLE: "maybe",
        AWS_ACCESS_KEY_ID: "k",
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TokenForgeError);
    const e = err as TokenForgeError;
    expect(e.code).toBe("invalid_request");
    expect(e.field).toBe("TOKENFORGE_S3_ENDPOINT");
    expect(e.message).toContain("TOKENFORGE_S3_ENDPOINT");
    expect(e.message).toContain("TOKENFORGE_S3_FORCE_PATH_STYLE");
    expect(e.message).toContain("AWS_SECRET_ACCESS_KEY");
    expectInvalid(
      () => artifactConfigFromEnv({ TOKENFORGE_S3_ENDPOINT: "http://x:9000" }),
      "TOKENFORGE_S3_BUCKET",
    );
  });
});

describe("FsArtifactStore", () => {
  it("round-trips bytes under <root>/<runId>/<name> with file:// URIs", async () => {
    const root = await tempDir();
    const store = new FsArtifactStore(root);
    const result = Buffer.from('{"schema":"tokenforge.bench.result/v1"}\n');
    const view = Buffer.from('{"backend":"vllm"}\n');
    const put = await store.put("run-1", "result.json", result, "application/json");
    expect(put.uploaded).toBe(true);
    expect(fileURLToPath(put.uri)).toBe(join(root, "run-1", "result.json"));
    const putView = await store.put("run-1", "vllm/chat.vllm.json", view, "application/json");
    expect(fileURLToPath(putView.uri)).toBe(join(root, "run-1", "vllm", "chat.vllm.json"));

    expect(await store.get("run-1", "result.json")).toEqual(result);
    expect(await store.get("run-1", "vllm/chat.vllm.json")).toEqual(view);
    expect(await store.get("run-1", "report.html")).toBeUndefined();
    expect(await store.get("run-2", "result.json")).toBeUndefined();

    // A second put replaces the first, and no temporary file is left beside it.
    await store.put("run-1", "result.json", Buffer.from("{}\n"), "application/json");
    expect((await store.get("run-1", "result.json"))?.toString()).toBe("{}\n");
    expect(await filesUnder(root)).toEqual(["run-1/result.json", "run-1/vllm/chat.vllm.json"]);
    expect(await store.retryPending()).toBe(0);
  });

  it("rejects bad run ids and names before touching the disk", async () => {
    const root = await tempDir();
    const store = new FsArtifactStore(join(root, "store"));
    for (const id of BAD_RUN_IDS) {
      await expectInvalidAsync(store.put(id, "result.json", Buffer.from("x"), "text/plain"), "runId");
      await expectInvalidAsync(store.get(id, "result.json"), "runId");
    }
    for (const name of BAD_NAMES) {
      await expectInvalidAsync(store.put("r1", name, Buffer.from("x"), "text/plain"), "name");
      await expectInvalidAsync(store.get("r1", name), "name");
    }
    expect(await filesUnder(root)).toEqual([]);
  });
});

/** ~`bytes` of JSONL traces, deterministic, written as a stream. */
async function writeJsonl(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path);
  let written = 0;
  let i = 0;
  let x = 12345;
  while (written < bytes) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const line = `${JSON.stringify({
      id: `chat-vllm-${i}`,
      scheduledMs: i * 12.5,
      ttftMs: (x % 100000) / 1000,
      tokens: Array.from({ length: 8 }, (_, k) => ((x >> k) % 997) / 10),
      status: "ok",
    })}\n`;
    if (!out.write(line)) await new Promise<void>((r) => out.once("drain", () => r()));
    written += Buffer.byteLength(line);
    i++;
  }
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("gzip helpers", () => {
  it("streams a 10 MB JSONL file through gzip and back, and putFile stores it gzipped", async () => {
    const dir = await tempDir();
    const src = join(dir, "requests.jsonl");
    await writeJsonl(src, 10 * 1024 * 1024);
    const original = await readFile(src);
    expect(original.length).toBeGreaterThanOrEqual(10 * 1024 * 1024);

    const progress: number[] = [];
    const gz = join(dir, "requests.jsonl.gz");
    const { bytesIn, bytesOut } = await gzipFile(src, gz, { onProgress: (n) => progress.push(n) });
    expect(bytesIn).toBe(original.length);
    expect(bytesOut).toBe((await stat(gz)).size);
    expect(bytesOut).toBeLessThan(bytesIn / 2);
    // Streamed: read in many bounded chunks, never as one buffer.
    expect(progress.length).toBeGreaterThan(100);
    const steps = progress.map((n, i) => n - (progress[i - 1] ?? 0));
    expect(Math.max(...steps)).toBeLessThanOrEqual(256 * 1024);
    expect(progress.at(-1)).toBe(original.length);

    const back = join(dir, "back.jsonl");
    await gunzipFile(gz, back);
    expect(sha(await readFile(back))).toBe(sha(original));

    const store = new FsArtifactStore(join(dir, "store"));
    const row = await putFile(store, "run-1", "requests.jsonl", src);
    expect(row).toMatchObject({
      runId: "run-1",
      name: "requests.jsonl.gz",
      contentType: "application/x-ndjson",
      uploaded: true,
    });
    const stored = (await store.get("run-1", "requests.jsonl.gz"))!;
    expect(row.bytes).toBe(stored.length);
    expect(sha(gunzipSync(stored))).toBe(sha(original));
    // No temporary files left anywhere.
    expect(await filesUnder(join(dir, "store"))).toEqual(["run-1/requests.jsonl.gz"]);
    expect((await filesUnder(dir)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});

describe("S3ArtifactStore against a real S3-protocol server (s3rver)", () => {
  const BUCKET = "tokenforge-artifacts";
  let server: S3TestServer;
  let check: S3Client;

  beforeAll(async () => {
    server = await startS3Server();
    await server.createBucket(BUCKET);
    check = server.client();
  });
  afterAll(async () => {
    await server?.close();
  });
  afterEach(async () => {
    await server.start();
  });

  it("puts and gets through the factory: s3:// URIs, objects in the bucket, gzip encoding for .gz", async () => {
    const spoolDir = await tempDir();
    const config = artifactConfigFromEnv(
      server.env(BUCKET, { TOKENFORGE_S3_SPOOL_DIR: spoolDir, TOKENFORGE_S3_PREFIX: "ci" }),
    );
    const store = openArtifactStore(config);
    expect(store.kind).toBe("s3");
    try {
      const result = Buffer.from('{"schema":"tokenforge.bench.result/v1","status":"complete"}\n');
      const traces = gzipSync(Buffer.from('{"id":"a"}\n{"id":"b"}\n'));
      const report = Buffer.from("<!doctype html><title>run</title>");

      const p1 = await store.put("run-1", "result.json", result, "application/json");
      expect(p1).toEqual({ uri: `s3://${BUCKET}/ci/run-1/result.json`, uploaded: true });
      const p2 = await store.put("run-1", "requests.jsonl.gz", traces, "application/x-ndjson");
      expect(p2).toEqual({ uri: `s3://${BUCKET}/ci/run-1/requests.jsonl.gz`, uploaded: true });
      await store.put("run-1", "report.html", report, "text/html; charset=utf-8");
      await store.put("run-1", "vllm/chat.vllm.json", result, "application/json");

      // Really in the server: on its disk and through an independent client.
      expect(await server.storedObject(BUCKET, "ci/run-1/result.json")).toEqual(result);
      expect(await server.storedObject(BUCKET, "ci/run-1/vllm/chat.vllm.json")).toEqual(result);
      const gzHead = await check.send(
        new HeadObjectCommand({ Bucket: BUCKET, Key: "ci/run-1/requests.jsonl.gz" }),
      );
      expect(gzHead.ContentEncoding).toBe("gzip");
      expect(gzHead.ContentType).toBe("application/x-ndjson");
      expect(gzHead.ContentLength).toBe(traces.length);
      const jsonHead = await check.send(
        new HeadObjectCommand({ Bucket: BUCKET, Key: "ci/run-1/result.json" }),
      );
      expect(jsonHead.ContentEncoding).toBeUndefined();
      expect(jsonHead.ContentType).toBe("application/json");
      const got = await check.send(new GetObjectCommand({ Bucket: BUCKET, Key: "ci/run-1/report.html" }));
      expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(report);

      expect(await store.get("run-1", "result.json")).toEqual(result);
      expect(await store.get("run-1", "requests.jsonl.gz")).toEqual(traces);
      expect(await store.get("run-1", "missing.json")).toBeUndefined();
      expect(await store.retryPending()).toBe(0);
      // Uploaded copies leave nothing behind in the spool.
      expect((await filesUnder(spoolDir)).filter((f) => f !== PENDING_FILE)).toEqual([]);
      await expectInvalidAsync(store.put("..", "x.json", result, "application/json"), "runId");
      await expectInvalidAsync(store.get("run-1", "a/b/c.json"), "name");
    } finally {
      await store.close();
    }
  });

  it("addresses the bucket path-style (http://host/bucket/key), as MinIO needs", async () => {
    const store = openArtifactStore(
      artifactConfigFromEnv(server.env(BUCKET, { TOKENFORGE_S3_SPOOL_DIR: await tempDir() })),
    );
    const from = server.requests.length;
    await store.put("run-path", "result.json", Buffer.from("{}"), "application/json");
    await store.get("run-path", "result.json");
    await store.close();
    const seen = server.requests.slice(from);
    expect(seen.map((r) => r.method)).toEqual(["PUT", "GET"]);
    for (const r of seen) {
      expect(r.host).toBe(`127.0.0.1:${server.port}`);
      expect(r.url.split("?")[0]).toBe(`/${BUCKET}/run-path/result.json`);
    }
  });

  it("keeps a failed upload in the spool, survives a restart, and uploads it on retry", async () => {
    const spoolDir = await tempDir();
    const client = () =>
      new S3Client({
        endpoint: server.endpoint,
        region: S3_REGION,
        forcePathStyle: true,
        credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY },
      });
    const first = new S3ArtifactStore({ client: client(), bucket: BUCKET, spoolDir, ownsClient: true });
    const traces = gzipSync(Buffer.from('{"id":"kept"}\n'.repeat(1000)));
    const result = Buffer.from('{"status":"complete"}\n');

    await server.stop();
    const p1 = await first.put("run-offline", "requests.jsonl.gz", traces, "application/x-ndjson");
    const p2 = await first.put("run-offline", "vllm/chat.vllm.json", result, "application/json");
    expect(p1.uploaded).toBe(false);
    expect(p2.uploaded).toBe(false);
    const spooled = join(spoolDir, "run-offline", "requests.jsonl.gz");
    expect(fileURLToPath(p1.uri)).toBe(spooled);
    expect(await readFile(spooled)).toEqual(traces);
    expect(await readFile(join(spoolDir, "run-offline", "vllm", "chat.vllm.json"))).toEqual(result);
    // Readable while the bucket is away, from the spool.
    expect(await first.get("run-offline", "requests.jsonl.gz")).toEqual(traces);
    const pending = await first.listPending();
    expect(pending.map((e) => e.name).sort()).toEqual(["requests.jsonl.gz", "vllm/chat.vllm.json"]);
    expect(pending.every((e) => e.attempts === 1 && (e.lastError ?? "") !== "")).toBe(true);
    // Still unreachable: nothing thrown, still pending.
    expect(await first.retryPending()).toBe(2);
    await first.close();

    // A new process over the same spool finds the pending uploads in the index.
    const index = JSON.parse(await readFile(join(spoolDir, PENDING_FILE), "utf8")) as { entries: unknown[] };
    expect(index.entries).toHaveLength(2);
    const uploaded: UploadedArtifact[] = [];
    const second = new S3ArtifactStore({
      client: client(),
      bucket: BUCKET,
      spoolDir,
      ownsClient: true,
      onUploaded: (a) => {
        uploaded.push(a);
      },
    });
    expect((await second.listPending()).length).toBe(2);
    await server.start();
    expect(await second.retryPending()).toBe(0);

    expect(await server.storedObject(BUCKET, "run-offline/requests.jsonl.gz")).toEqual(traces);
    expect(await server.storedObject(BUCKET, "run-offline/vllm/chat.vllm.json")).toEqual(result);
    const head = await check.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: "run-offline/requests.jsonl.gz" }),
    );
    expect(head.ContentEncoding).toBe("gzip");
    expect(uploaded.map((a) => a.uri).sort()).toEqual([
      `s3://${BUCKET}/run-offline/requests.jsonl.gz`,
      `s3://${BUCKET}/run-offline/vllm/chat.vllm.json`,
    ]);
    // The spool copies and their entries are gone.
    expect(await filesUnder(spoolDir)).toEqual([PENDING_FILE]);
    expect(await second.listPending()).toEqual([]);
    expect(await second.get("run-offline", "vllm/chat.vllm.json")).toEqual(result);
    await second.close();
  });

  it("startRetryLoop uploads what is pending once the bucket is back", async () => {
    const store = openArtifactStore(
      artifactConfigFromEnv(server.env(BUCKET, { TOKENFORGE_S3_SPOOL_DIR: await tempDir() })),
    );
    await server.stop();
    const body = Buffer.from('{"status":"complete"}\n');
    expect((await store.put("run-loop", "result.json", body, "application/json")).uploaded).toBe(false);
    await server.start();
    const counts: (number | undefined)[] = [];
    let done!: () => void;
    const zero = new Promise<void>((r) => {
      done = r;
    });
    const loop = startRetryLoop(store, {
      intervalMs: 20,
      onResult: (n) => {
        counts.push(n);
        if (n === 0) done();
      },
    });
    await zero;
    await loop.stop();
    await store.close();
    expect(counts.at(-1)).toBe(0);
    expect(await server.storedObject(BUCKET, "run-loop/result.json")).toEqual(body);
  });

  it("never loses a result to a bucket that was never reachable (a closed port)", async () => {
    const spoolDir = await tempDir();
    const port = await closedPort();
    const store = openArtifactStore(
      artifactConfigFromEnv({
        ...server.env(BUCKET, { TOKENFORGE_S3_SPOOL_DIR: spoolDir }),
        TOKENFORGE_S3_ENDPOINT: `http://127.0.0.1:${port}`,
      }),
    );
    const body = Buffer.from('{"status":"complete"}\n');
    const put = await store.put("run-closed", "result.json", body, "application/json");
    expect(put.uploaded).toBe(false);
    expect(await readFile(fileURLToPath(put.uri))).toEqual(body);
    expect(await store.get("run-closed", "result.json")).toEqual(body);
    expect(await store.get("run-closed", "other.json").catch((e: unknown) => e)).toMatchObject({
      code: "io_error",
    });
    expect(await store.retryPending()).toBe(1);
    await store.close();
  });

  it("putFile gzips a JSONL trace into the bucket", async () => {
    const dir = await tempDir();
    const src = join(dir, "requests.jsonl");
    await writeJsonl(src, 512 * 1024);
    const store = openArtifactStore(
      artifactConfigFromEnv(server.env(BUCKET, { TOKENFORGE_S3_SPOOL_DIR: dir })),
    );
    const row = await putFile(store, "run-file", "requests.jsonl", src);
    await store.close();
    expect(row).toMatchObject({
      name: "requests.jsonl.gz",
      uri: `s3://${BUCKET}/run-file/requests.jsonl.gz`,
      uploaded: true,
    });
    const stored = (await server.storedObject(BUCKET, "run-file/requests.jsonl.gz"))!;
    expect(sha(gunzipSync(stored))).toBe(sha(await readFile(src)));
    const head = await check.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: "run-file/requests.jsonl.gz" }),
    );
    expect(head.ContentEncoding).toBe("gzip");
  });
});

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const { createServer } = await import("node:net");
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
