/**
 * The CLI against a running gateway (`--server`): deploy, deployments, infer (streamed and not),
 * bench --server, runs list / show, deployments delete, and a refusal's exit code.
 */

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

let t: TestGateway;
let server: string;

beforeAll(async () => {
  t = await startTestGateway({ name: "remote" });
  server = await t.gateway.app.listen({ host: "127.0.0.1", port: 0 });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

/** Runs the real CLI against this test's gateway. */
const cli = (args: string[]) => runCli([...args, "--server", server]);

describe("the CLI against a gateway", () => {
  let id: string;

  it("deploys and waits until ready, then lists it", async () => {
    const r = await cli(["deploy", "--model", "cli-model", "--runtime", "sim", "--wait"]);
    expect(r.code, r.stderr).toBe(0);
    id = r.stdout.split(/\s/)[0]!;
    expect(r.stdout).toMatch(/ready at http:\/\/127\.0\.0\.1:\d+/);
    const list = await cli(["deployments"]);
    expect(list.stdout).toContain(id);
    expect(list.stdout).toMatch(/cli-model\s+sim\s+local\s+1\s+ready/);
  }, 60_000);

  it("infers, streamed and whole", async () => {
    const streamed = await cli(["infer", "hello there", "--model", "cli-model", "--max-tokens", "3"]);
    expect(streamed.code, streamed.stderr).toBe(0);
    expect(streamed.stdout).toBe(" tok tok tok\n");
    const whole = await cli(["infer", "hello", "--model", "cli-model", "--max-tokens", "2", "--no-stream"]);
    expect(whole.stdout).toBe(" tok tok\n");
  }, 30_000);

  it("runs a benchmark on the gateway and shows it in runs list / show", async () => {
    const config = join(t.dir, "remote.yaml");
    writeFileSync(
      config,
      "model: cli-model\nruntimes: [sim]\nworkloads:\n  - name: remote\n    qps: 40\n    num_requests: 12\n    prompt_len: 8\n    gen_tokens: 3\n",
    );
    const r = await cli(["bench", config]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/run-\S+: complete \(cli-model\)/);
    expect(r.stdout).toContain("remote");
    const runId = r.stdout.match(/(run-\S+):/)![1]!;
    const list = await cli(["runs", "list", "--model", "cli-model"]);
    expect(list.stdout).toContain(runId);
    const show = await cli(["runs", "show", runId, "--json"]);
    expect(JSON.parse(show.stdout).results[0].metrics.counts.ok).toBe(12);
  }, 60_000);

  it("deletes, and a refusal exits 2 with the gateway's message", async () => {
    const del = await cli(["deployments", "delete", id]);
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout).toContain(`${id} stopped`);
    const again = await cli(["deployments", "delete", id]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`no deployment ${id}`);
    const bad = await cli(["deploy", "--model", "m", "--runtime", "nope"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('runtime: unknown runtime "nope"');
  }, 30_000);
});
