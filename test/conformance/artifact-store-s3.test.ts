/**
 * The S3 artifact store against the artifact-store suite, on a real S3-protocol server (s3rver,
 * test/helpers/s3-server.ts), and what only the S3 store does: content headers, path-style
 * addressing, and the spool that keeps a result whose upload failed until a retry uploads it.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  artifactConfigFromEnv,
  openArtifactStore,
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
import { defineArtifactStoreConformance } from "./artifact-store.js";

const OBJECT_SUFFIX = "._S3rver_object";
const PREFIX = "ci";

let server: S3TestServer;
let check: S3Client;
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "tokenforge-s3-spool-"));
  dirs.push(d);
  return d;
}

/** Every file under `dir`, relative, sorted; none when it does not exist. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

beforeAll(async () => {
  server = await startS3Server();
  check = server.client();
});
afterAll(async () => {
  await server?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

let buckets = 0;

defineArtifactStoreConformance("s3", async () => {
  // A bucket of its own per test, and a key prefix, as a shared bucket would be used.
  const bucket = `conformance-${buckets++}`;
  await server.createBucket(bucket);
  const store = openArtifactStore(
    artifactConfigFromEnv(
      server.env(bucket, { TOKENFORGE_S3_SPOOL_DIR: await tempDir(), TOKENFORGE_S3_PREFIX: PREFIX }),
    ),
  );
  return {
    store,
    uriOf: (runId, name) => `s3://${bucket}/${PREFIX}/${runId}/${name}`,
    stored: async () =>
      (await filesUnder(join(server.dir, bucket)))
        .filter((f) => f.endsWith(OBJECT_SUFFIX))
        .map((f) => f.slice(0, -OBJECT_SUFFIX.length))
        .map((key) =>
          key.startsWith(`${PREFIX}/`) ? key.slice(PREFIX.length + 1) : `(outside the prefix) ${key}`,
        )
        .sort(),
    read: (runId, name) => server.storedObject(bucket, `${PREFIX}/${runId}/${name}`),
    close: () => store.close(),
  };
});

describe("S3ArtifactStore only", () => {
  const BUCKET = "tokenforge-artifacts";

  beforeAll(async () => {
    await server.createBucket(BUCKET);
  });
  afterEach(async () => {
    await server.start();
  });

  it("keeps the content type, marks .gz objects gzip-encoded, and leaves nothing in the spool", async () => {
    const spoolDir = await tempDir();
    const store = openArtifactStore(
      artifactConfigFromEnv(server.env(BUCKET, { TOKENFORGE_S3_SPOOL_DIR: spoolDir })),
    );
    expect(store.kind).toBe("s3");
    try {
      const traces = gzipSync(Buffer.from('{"id":"a"}\n{"id":"b"}\n'));
      await store.put("run-1", "requests.jsonl.gz", traces, "application/x-ndjson");
      await store.put("run-1", "result.json", Buffer.from("{}\n"), "application/json");

      const gzHead = await check.send(
        new HeadObjectCommand({ Bucket: BUCKET, Key: "run-1/requests.jsonl.gz" }),
      );
      expect(gzHead.ContentEncoding).toBe("gzip");
      expect(gzHead.ContentType).toBe("application/x-ndjson");
      expect(gzHead.ContentLength).toBe(traces.length);
      const jsonHead = await check.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "run-1/result.json" }));
      expect(jsonHead.ContentEncoding).toBeUndefined();
      expect(jsonHead.ContentType).toBe("application/json");
      // Uploaded copies leave nothing behind in the spool.
      expect((await filesUnder(spoolDir)).filter((f) => f !== PENDING_FILE)).toEqual([]);
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
