/**
 * Property: the benchmark config loader, fed generated files (YAML and JSON; valid, mutated,
 * aliased, alias bombs, unresolved aliases, nested past the limit, not YAML) and parsed values,
 * returns a config or a 400 ConfigError of bounded size, never any other exception. And the CLI
 * says so with exit 2: `tokenforge bench` on an alias bomb names the problem.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/bench/config.js";
import { runCli } from "../helpers/cli.js";
import { configChecks, configTexts, configValues } from "./config-schemas.js";

const dir = mkdtempSync(join(tmpdir(), "tokenforge-config-property-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BOMB = [
  "model: synthetic:tiny",
  "runtimes: [llamacpp]",
  "a: &a [x, x, x, x, x, x, x, x, x]",
  "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
  "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
  "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]",
  "workloads: [{name: w, qps: 1, prompt_len: 4, gen_tokens: 2}]",
].join("\n");

describe("config loader: a config or a 400, never another error", () => {
  it("holds for config files", () => {
    const seen = { ok: 0, refused: 0 };
    fc.assert(
      fc.property(configTexts(), (i) => {
        seen[configChecks.text(i)]++;
      }),
      { numRuns: 800 },
    );
    expect(seen.ok).toBeGreaterThan(20);
    expect(seen.refused).toBeGreaterThan(300);
  });

  it("holds for parsed values (a request body)", () => {
    const seen = { ok: 0, refused: 0 };
    fc.assert(
      fc.property(configValues(), (v) => {
        seen[configChecks.value(v)]++;
      }),
      { numRuns: 600 },
    );
    expect(seen.ok).toBeGreaterThan(20);
    expect(seen.refused).toBeGreaterThan(300);
  });
});

describe("bounded config files", () => {
  it("an alias bomb, an unresolved alias, deep nesting and an oversized file are ConfigErrors naming the problem", () => {
    const cases: [string, string, RegExp][] = [
      ["bomb.yaml", BOMB, /aliases \(\*name\) more than 100 times/],
      ["alias.yaml", "model: m\nruntimes: *nowhere\n", /alias/i],
      ["deep.json", `{"model": ${"[".repeat(5000)}${"]".repeat(5000)}}`, /nested deeper than 64 levels/],
      ["big.yaml", `model: m\n# ${"x".repeat(1_100_000)}\n`, /a config may be at most 1048576 bytes/],
      [
        "big-text.yaml",
        `model: m\n# ${"x".repeat(300_000)}\n`,
        /the document is 300012 bytes; the most accepted is 262144/,
      ],
    ];
    for (const [name, text, message] of cases) {
      const file = join(dir, name);
      writeFileSync(file, text);
      expect(() => loadConfig(file), name).toThrow(message);
    }
  });

  it("a cost profile file that is an alias bomb is a problem under cost", () => {
    writeFileSync(join(dir, "cost.yaml"), BOMB.replace(/^model.*\n^runtimes.*\n/m, ""));
    const file = join(dir, "with-cost.yaml");
    writeFileSync(
      file,
      "model: m\nruntimes: [sim]\ncost: cost.yaml\nworkloads: [{name: w, qps: 1, prompt_len: 4, gen_tokens: 2}]\n",
    );
    expect(() => loadConfig(file)).toThrow(/cost: .*aliases/);
  });

  it("tokenforge bench exits 2 on an alias bomb, naming the problem", async () => {
    const file = join(dir, "bomb-cli.yaml");
    writeFileSync(file, BOMB);
    const r = await runCli(["bench", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/aliases \(\*name\) more than 100 times/);
    expect(r.stderr.length).toBeLessThan(5000);
  });
});
