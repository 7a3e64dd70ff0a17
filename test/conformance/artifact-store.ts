/**
 * The artifact-store conformance suite (src/spec/store.ts `ArtifactStore`, seam 4): the same
 * contract checked against every store. Each test gets a fresh, empty target; what a store holds is
 * read back from its storage directly (the directory, the bucket), not only through the store.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TokenForgeError } from "../../src/errors.js";
import type { ArtifactStore } from "../../src/spec/store.js";
import { putFile } from "../../src/store/artifacts/index.js";

export interface ArtifactStoreTarget {
  store: ArtifactStore;
  /** The URI a put of `runId/name` answers with once it is stored. */
  uriOf(runId: string, name: string): string;
  /** Every artifact the storage holds, as "runId/name", sorted (temporary files included). */
  stored(): Promise<string[]>;
  /** The bytes the storage holds for `runId/name`, read without the store. */
  read(runId: string, name: string): Promise<Buffer | undefined>;
  /** Closes the store and removes what the target made. */
  close(): Promise<void>;
}

export const BAD_RUN_IDS = ["", ".", "..", "../x", "a/b", "/abs", ".hidden", "a b", "x\0y", "a\\b", "é"];
export const BAD_NAMES = [
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

/** Resolves to the invalid_request error `p` rejects with, checking it names `field`. */
export async function expectInvalidAsync(p: Promise<unknown>, field: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TokenForgeError);
  expect((err as TokenForgeError).code).toBe("invalid_request");
  expect((err as TokenForgeError).field).toBe(field);
}

/** ~`bytes` of JSONL traces, deterministic, written as a stream. */
export async function writeJsonl(path: string, bytes: number): Promise<void> {
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

export const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

export function defineArtifactStoreConformance(
  name: string,
  start: () => Promise<ArtifactStoreTarget>,
): void {
  describe(`artifact store conformance: ${name}`, () => {
    let t: ArtifactStoreTarget;
    const dirs: string[] = [];
    beforeEach(async () => {
      t = await start();
    });
    afterEach(async () => {
      await t?.close();
      for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
    });

    it("round-trips bytes under runId/name, one- and two-part names, at the URI it answers with", async () => {
      const result = Buffer.from('{"schema":"tokenforge.bench.result/v1","status":"complete"}\n');
      const view = Buffer.from('{"backend":"vllm"}\n');
      const report = Buffer.from("<!doctype html><title>run</title>");

      const put = await t.store.put("run-1", "result.json", result, "application/json");
      expect(put).toEqual({ uri: t.uriOf("run-1", "result.json"), uploaded: true });
      const putView = await t.store.put("run-1", "vllm/chat.vllm.json", view, "application/json");
      expect(putView).toEqual({ uri: t.uriOf("run-1", "vllm/chat.vllm.json"), uploaded: true });
      await t.store.put("run-1", "report.html", report, "text/html; charset=utf-8");

      // Really in the storage, not only in the store's memory.
      expect(await t.read("run-1", "result.json")).toEqual(result);
      expect(await t.read("run-1", "vllm/chat.vllm.json")).toEqual(view);
      expect(await t.read("run-1", "report.html")).toEqual(report);

      expect(await t.store.get("run-1", "result.json")).toEqual(result);
      expect(await t.store.get("run-1", "vllm/chat.vllm.json")).toEqual(view);
      expect(await t.store.get("run-1", "report.html")).toEqual(report);
      expect(await t.store.retryPending()).toBe(0);
    });

    it("answers undefined for what was never stored", async () => {
      await t.store.put("run-1", "result.json", Buffer.from("{}"), "application/json");
      expect(await t.store.get("run-1", "missing.json")).toBeUndefined();
      expect(await t.store.get("run-1", "vllm/missing.json")).toBeUndefined();
      expect(await t.store.get("run-2", "result.json")).toBeUndefined();
    });

    it("a second put replaces the first and leaves nothing beside it", async () => {
      await t.store.put("run-1", "result.json", Buffer.from('{"a":1}\n'), "application/json");
      await t.store.put("run-1", "vllm/chat.vllm.json", Buffer.from("{}\n"), "application/json");
      await t.store.put("run-1", "result.json", Buffer.from("{}\n"), "application/json");
      expect((await t.store.get("run-1", "result.json"))?.toString()).toBe("{}\n");
      expect((await t.read("run-1", "result.json"))?.toString()).toBe("{}\n");
      expect(await t.stored()).toEqual(["run-1/result.json", "run-1/vllm/chat.vllm.json"]);
    });

    it("keeps gzipped bytes as they are", async () => {
      const traces = gzipSync(Buffer.from('{"id":"a"}\n{"id":"b"}\n'));
      await t.store.put("run-1", "requests.jsonl.gz", traces, "application/x-ndjson");
      expect(await t.read("run-1", "requests.jsonl.gz")).toEqual(traces);
      expect(await t.store.get("run-1", "requests.jsonl.gz")).toEqual(traces);
    });

    it("rejects bad run ids and names, naming the field, before storing anything", async () => {
      for (const id of BAD_RUN_IDS) {
        await expectInvalidAsync(t.store.put(id, "result.json", Buffer.from("x"), "text/plain"), "runId");
        await expectInvalidAsync(t.store.get(id, "result.json"), "runId");
      }
      for (const bad of BAD_NAMES) {
        await expectInvalidAsync(t.store.put("r1", bad, Buffer.from("x"), "text/plain"), "name");
        await expectInvalidAsync(t.store.get("r1", bad), "name");
      }
      expect(await t.stored()).toEqual([]);
    });

    it("putFile stores a JSONL trace gzipped, under .gz, with the row to index", async () => {
      const dir = await mkdtemp(join(tmpdir(), "tokenforge-artifact-file-"));
      dirs.push(dir);
      const src = join(dir, "requests.jsonl");
      await writeJsonl(src, 512 * 1024);
      const original = await readFile(src);
      const row = await putFile(t.store, "run-file", "requests.jsonl", src);
      const stored = (await t.read("run-file", "requests.jsonl.gz"))!;
      expect(row).toEqual({
        runId: "run-file",
        name: "requests.jsonl.gz",
        uri: t.uriOf("run-file", "requests.jsonl.gz"),
        bytes: stored.length,
        contentType: "application/x-ndjson",
        uploaded: true,
      });
      expect(stored.length).toBeLessThan(original.length / 2);
      expect(sha(gunzipSync(stored))).toBe(sha(original));
      expect(await t.stored()).toEqual(["run-file/requests.jsonl.gz"]);
    });
  });
}
