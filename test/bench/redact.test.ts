/**
 * API keys never reach what a run records: the redaction function on its own (known keys, Bearer
 * tokens, `sk-…`, `tf_…`, key-named values), and a whole run against a server whose 401 replies
 * quote the request's `Authorization` header: result.json, requests.jsonl and the HTML report
 * carry the reason without the key.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { configFromObject } from "../../src/bench/config.js";
import { REDACTED, redactText, redactValue, secretsOfHeaders } from "../../src/bench/redact.js";
import { runBenchmark } from "../../src/bench/run.js";
import { writeReport } from "../../src/report/write.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import { type FaultyServer, startFaultyServer } from "../helpers/faulty-server.js";

const KEY = "k3y-Very-Secret-0123456789";

describe("redactText", () => {
  it("replaces the run's own key wherever it appears, and the whole header value", () => {
    const secrets = secretsOfHeaders({ Authorization: `Bearer ${KEY}` });
    expect(secrets).toEqual([`Bearer ${KEY}`, KEY]);
    expect(redactText(`bad key ${KEY}!`, secrets)).toBe(`bad key ${REDACTED}!`);
    expect(redactText(`{"received":"Bearer ${KEY}"}`, secrets)).toBe(`{"received":"${REDACTED}"}`);
    expect(redactText(`x${KEY}${KEY}y`, secrets)).toBe(`x${REDACTED}${REDACTED}y`);
  });

  it("replaces key-shaped values it was not told about", () => {
    expect(redactText("401: Authorization: Bearer abc.def-ghi_jkl")).toBe(
      `401: Authorization: Bearer ${REDACTED}`,
    );
    expect(redactText("key sk-proj-AbCdEfGh12345678 is invalid")).toBe(`key ${REDACTED} is invalid`);
    expect(redactText("token tf_0123456789abcdef revoked")).toBe(`token ${REDACTED} revoked`);
    expect(redactText('{"api_key": "hunter22", "n": 1}')).toBe(`{"api_key": "${REDACTED}", "n": 1}`);
    expect(redactText("x-api-key=abcdef123&y=2")).toBe(`x-api-key=${REDACTED}&y=2`);
    expect(redactText('password: "pa55word"')).toBe(`password: "${REDACTED}"`);
  });

  it("leaves ordinary text alone", () => {
    for (const text of [
      "max_tokens 16 plus the 20 prompt tokens is past this model's context",
      "HTTP 500: engine failed (out of memory)",
      "the model `sk` does not exist",
      "",
    ]) {
      expect(redactText(text, ["ab"])).toBe(text);
    }
  });

  it("redacts every string of a value, keys included, keeping numbers and structure", () => {
    const v = { a: [`Bearer ${KEY}`, 3, null], [KEY]: { ok: true, s: "fine" } };
    expect(redactValue(v, [KEY])).toEqual({
      a: [`Bearer ${REDACTED}`, 3, null],
      [REDACTED]: { ok: true, s: "fine" },
    });
  });
});

describe("a run against a server that echoes the key in its 401s", () => {
  let server: FaultyServer;
  const dir = mkdtempSync(join(tmpdir(), "tokenforge-redact-"));
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("records the refusals without the key in result.json, requests.jsonl and the report", async () => {
    // The first request (the harness's check) is answered; every second one after is a 401 that
    // quotes the header, as some servers do.
    server = await startFaultyServer({
      model: "m",
      fault: (n) =>
        n > 1 && n % 2 === 0
          ? { kind: "status", status: 401, message: `invalid key in header "authorization: Bearer ${KEY}"` }
          : { kind: "ok" },
    });
    const config = configFromObject({
      model: "m",
      runtimes: ["remote"],
      targets: { remote: { url: server.url, api_key_env: "TF_TEST_KEY" } },
      max_error_fraction: 1,
      workloads: [{ name: "w", concurrency: 1, num_requests: 6, prompt_len: 4, gen_tokens: 3 }],
    });
    const outDir = join(dir, "run");
    const result = await runBenchmark({
      config,
      runtimes: new RuntimeRegistry([]),
      outDir,
      serverMetrics: false,
      secrets: (name) => (name === "TF_TEST_KEY" ? KEY : undefined),
    });
    const errors = result.results[0]!.metrics.counts.errored;
    expect(errors).toBeGreaterThan(0);
    const traces = readFileSync(join(outDir, "requests.jsonl"), "utf8");
    const resultJson = readFileSync(join(outDir, "result.json"), "utf8");
    const report = readFileSync(writeReport(join(outDir, "result.json")).path, "utf8");
    // The reason is kept, the key is not.
    expect(traces).toContain(`authorization: ${REDACTED}`);
    expect(traces).toContain("401");
    for (const [name, text] of [
      ["requests.jsonl", traces],
      ["result.json", resultJson],
      ["report.html", report],
    ] as const) {
      expect(text.includes(KEY), name).toBe(false);
    }
  });
});
