/**
 * No dead ends at the command line: help for every `sim` subcommand (exit 0) and `sim --help`
 * listing them, described `runs list` options, bad usage exiting 2, Node older than 22 refused
 * in one sentence (no stack trace), and `compare` of two runs with nothing in common exiting 2.
 * Each runs the real executable from the sources, except `compare`'s, which calls its function.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { aggregate } from "../../src/bench/aggregate.js";
import { runCompare } from "../../src/cli/compare.js";
import { runCli } from "../helpers/cli.js";
import { CLI } from "../helpers/gateway.js";

const dir = mkdtempSync(join(tmpdir(), "tokenforge-cli-usage-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("help and usage", () => {
  it("sim fit --help and sim capacity --help print their options and exit 0", async () => {
    const fit = await runCli(["sim", "fit", "--help"]);
    expect(fit.code).toBe(0);
    expect(fit.stdout).toContain("Usage: tokenforge sim fit [options] <run>");
    expect(fit.stdout).toContain("--max-batch <n>");
    expect(fit.stderr).toBe("");
    const capacity = await runCli(["sim", "capacity", "--help"]);
    expect(capacity.code).toBe(0);
    expect(capacity.stdout).toContain("--perf <file|json>");
  }, 60_000);

  it("sim --help lists the simulator's flags and the fit and capacity commands", async () => {
    const r = await runCli(["sim", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--ttft-ms MS");
    expect(r.stdout).toMatch(/sim fit \[options\] <run>\n\s+fit the simulated engine's performance model/);
    expect(r.stdout).toMatch(/sim capacity \[options\]\n\s+the fewest replicas/);
  }, 30_000);

  it("runs list describes every option", async () => {
    const r = await runCli(["runs", "list", "--help"]);
    expect(r.code).toBe(0);
    const options = r.stdout.split("\n").filter((l) => /^\s+--/.test(l));
    expect(options.length).toBeGreaterThanOrEqual(5);
    for (const line of options) expect(line.trim(), line).toMatch(/^--\S+( <\w+>)?\s{2,}\S/);
  }, 30_000);

  it("exits 2 on bad usage, naming the flag", async () => {
    const bad = await runCli(["bench", "--request-rate", "fast"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("option '--request-rate <r>' argument 'fast' is invalid");
    const unknown = await runCli(["no-such-command"]);
    expect(unknown.code).toBe(2);
    const remote = await runCli([
      "bench",
      "configs/quickstart.yaml",
      "--server",
      "http://127.0.0.1:9",
      "--request-rate",
      "5",
    ]);
    expect(remote.code).toBe(2);
    expect(remote.stderr).toContain(
      "server: --server runs the config file as written; put --request-rate in the file instead",
    );
  }, 120_000);
});

/** The major version of the system's `node`, when there is one other than this process's. */
function systemNode(): { path: string; major: number } | undefined {
  for (const path of ["/usr/bin/node", "/usr/local/bin/node"]) {
    try {
      const v = execFileSync(path, ["--version"], { encoding: "utf8" }).trim();
      return { path, major: Number(v.replace(/^v/, "").split(".")[0]) };
    } catch {
      // not there
    }
  }
  return undefined;
}

const old = systemNode();
const oldNode = old !== undefined && old.major < 22 ? old : undefined;
if (oldNode === undefined) console.warn("skipping the old-Node test: no Node older than 22 on this machine");

describe.skipIf(oldNode === undefined)("on Node older than 22", () => {
  it("says TokenForge needs Node 22 or newer, with no stack trace, and exits 1", () => {
    const r = spawnSync(oldNode!.path, ["--import", "tsx", CLI, "--version"], {
      cwd: join(import.meta.dirname, "..", ".."),
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^TokenForge needs Node 22 or newer; this is Node 2\d\./);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe("");
  }, 30_000);
});

describe("compare of runs with nothing in common", () => {
  const file = (name: string, workload: string) => {
    const path = join(dir, name);
    writeFileSync(
      path,
      JSON.stringify({
        schema: "tokenforge.bench.result/v1",
        results: [{ workload, runtime: "llamacpp", metrics: aggregate([], { slo: {} }) }],
      }),
    );
    return path;
  };

  it("exits 2 and says which workloads each side has", async () => {
    let out = "";
    let err = "";
    const io = {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
    };
    const code = await runCompare(file("a.json", "chat"), file("b.json", "summarize"), {}, io);
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toBe(
      "error: nothing to compare: the two runs have no workload × runtime in common (A has chat on llamacpp; B has summarize on llamacpp). Compare runs of the same config.\n",
    );
    // The same workload on both sides compares as before.
    expect(await runCompare(file("c.json", "chat"), file("d.json", "chat"), {}, io)).toBe(0);
  });
});
