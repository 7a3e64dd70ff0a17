/**
 * Artifact names, the artifact store's configuration and the gzip helpers. The stores themselves
 * (fs, S3) are checked by the artifact-store conformance suite: test/conformance/artifact-store*.ts.
 */
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TokenForgeError } from "../../src/errors.js";
import {
  artifactConfigFromEnv,
  checkArtifactPath,
  gunzipFile,
  gzipFile,
} from "../../src/store/artifacts/index.js";
import { BAD_NAMES, BAD_RUN_IDS, sha, writeJsonl } from "../conformance/artifact-store.js";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "tokenforge-artifacts-"));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

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

describe("gzip helpers", () => {
  it("streams a 10 MB JSONL file through gzip and back", async () => {
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

    // No temporary file left beside either output.
    expect((await readdir(dir)).sort()).toEqual(["back.jsonl", "requests.jsonl", "requests.jsonl.gz"]);
  });
});
