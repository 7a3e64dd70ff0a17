/**
 * The names an API caller may give for files (paths.ts): datasets inside the datasets directory,
 * cost profiles by name, deployment models from the models directory or as plain names. Every
 * way out — absolute paths, `..`, symlinks pointing out — is refused with one message whether or
 * not the file outside exists, and no refusal quotes a file.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTokenForgeError } from "../../src/errors.js";
import { confineBenchmarkBody, confineModel, insideRoot } from "../../src/gateway/paths.js";

let dir: string;
let datasets: string;
let models: string;
let profiles: string;
const SECRET = "password: hunter2-do-not-echo";

function refusal(fn: () => unknown): { field: string | undefined; message: string } {
  try {
    fn();
  } catch (err) {
    if (isTokenForgeError(err)) return { field: err.field, message: err.message };
    throw err;
  }
  throw new Error("not refused");
}

const run = (dataset: unknown, extra: Record<string, unknown> = {}) => ({
  model: "m",
  runtimes: ["sim"],
  workloads: [{ name: "w", qps: 1, num_requests: 1, prompt_len: 8, gen_tokens: 4, dataset }],
  ...extra,
});

beforeAll(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "tokenforge-paths-")));
  datasets = join(dir, "datasets");
  models = join(dir, "models");
  profiles = join(dir, "profiles");
  for (const d of [datasets, join(datasets, "sub"), models, profiles]) mkdirSync(d, { recursive: true });
  writeFileSync(join(datasets, "prompts.jsonl"), '{"prompt":"hello"}\n');
  writeFileSync(join(datasets, "sub", "more.jsonl"), '{"prompt":"hi"}\n');
  writeFileSync(join(dir, "secret.jsonl"), `${SECRET}\n`);
  writeFileSync(join(dir, "secret.yaml"), `${SECRET}\n`);
  symlinkSync(join(dir, "secret.jsonl"), join(datasets, "link-out.jsonl"));
  symlinkSync(join(dir, "missing.jsonl"), join(datasets, "dangling-out.jsonl"));
  symlinkSync(dir, join(datasets, "up"));
  writeFileSync(join(models, "tiny.gguf"), "GGUF");
  symlinkSync(join(dir, "secret.yaml"), join(models, "escape.gguf"));
  writeFileSync(join(profiles, "box.yaml"), "dollars_per_hour: 1.5\n");
  writeFileSync(join(profiles, "broken.yaml"), `${SECRET}: [\n`);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("datasets", () => {
  it("resolves a name (or a path below) inside the datasets directory to its real path", () => {
    const out = confineBenchmarkBody(run({ jsonl: "prompts.jsonl" }), { datasetsDir: datasets }) as {
      workloads: { dataset: { jsonl: string } }[];
    };
    expect(out.workloads[0]!.dataset.jsonl).toBe(join(datasets, "prompts.jsonl"));
    expect(insideRoot(datasets, "sub/more.jsonl")).toBe(join(datasets, "sub", "more.jsonl"));
    expect(insideRoot(datasets, "sub/../prompts.jsonl")).toBeUndefined(); // .. is refused outright
  });

  it("refuses absolute paths, .., and symlinks out, with one message whether or not the file exists", () => {
    const attempts = [
      join(dir, "secret.jsonl"), // exists, absolute
      join(dir, "nothing-here.jsonl"), // absent, absolute
      "../secret.jsonl", // exists, relative
      "../nothing-here.jsonl", // absent, relative
      "link-out.jsonl", // a symlink to an existing file outside
      "dangling-out.jsonl", // a symlink to an absent file outside
      "up/secret.jsonl", // a symlinked directory out
      "nothing-inside.jsonl", // absent inside
      "sub", // a directory, not a file
      "/etc/passwd",
      "~/x.jsonl",
      "a\u0000b",
    ];
    const messages = new Set<string>();
    for (const name of attempts) {
      const r = refusal(() => confineBenchmarkBody(run({ jsonl: name }), { datasetsDir: datasets }));
      expect(r.field, name).toBe("workloads[0].dataset.jsonl");
      expect(r.message, name).not.toContain("hunter2");
      messages.add(r.message.replace(`"${name}"`, '"NAME"'));
    }
    expect([...messages]).toHaveLength(1);
    const sharegpt = refusal(() =>
      confineBenchmarkBody(run({ sharegpt: "../secret.jsonl" }), { datasetsDir: datasets }),
    );
    expect(sharegpt.field).toBe("workloads[0].dataset.sharegpt");
  });

  it("refuses every dataset file when no datasets directory is configured", () => {
    const r = refusal(() => confineBenchmarkBody(run({ jsonl: "prompts.jsonl" }), {}));
    expect(r.field).toBe("workloads[0].dataset.jsonl");
    expect(r.message).toContain("--datasets-dir");
  });

  it("leaves synthetic prompts and bodies of the wrong shape to the config's schema", () => {
    const body = run("synthetic");
    expect(confineBenchmarkBody(body, {})).toEqual(body);
    expect(confineBenchmarkBody("text", {})).toBe("text");
  });
});

describe("cost profiles", () => {
  it("takes a profile by name, with or without its extension, as the profile inline", () => {
    for (const name of ["box", "box.yaml"]) {
      const out = confineBenchmarkBody(run("synthetic", { cost: name }), { profilesDir: profiles }) as {
        cost: unknown;
      };
      expect(out.cost).toEqual({ dollars_per_hour: 1.5 });
    }
    // The shipped profiles by default.
    const shipped = confineBenchmarkBody(run("synthetic", { cost: "laptop" }), {}) as { cost: unknown };
    expect(typeof shipped.cost).toBe("object");
  });

  it("refuses paths and unknown names without reading or quoting any file", () => {
    for (const cost of [join(dir, "secret.yaml"), "../secret.yaml", "../../etc/passwd", "nope", "sub/box"]) {
      const r = refusal(() => confineBenchmarkBody(run("synthetic", { cost }), { profilesDir: profiles }));
      expect(r.field, cost).toBe("cost");
      expect(r.message, cost).not.toContain("hunter2");
      expect(r.message, cost).toContain("box"); // the names it may pick
    }
    const broken = refusal(() =>
      confineBenchmarkBody(run("synthetic", { cost: "broken" }), { profilesDir: profiles }),
    );
    expect(broken.field).toBe("cost");
    expect(broken.message).not.toContain("hunter2");
  });
});

describe("deployment models", () => {
  const roots = () => ({ modelsDir: models, workDir: dir });

  it("keeps synthetic references and plain names; a name in the models directory becomes its real path", () => {
    expect(confineModel("synthetic:tiny?quant=f16", roots())).toBe("synthetic:tiny?quant=f16");
    expect(confineModel("sim-model", roots())).toBe("sim-model");
    expect(confineModel("meta-llama/Llama-3.1-8B", roots())).toBe("meta-llama/Llama-3.1-8B");
    expect(confineModel("tiny.gguf", roots())).toBe(join(models, "tiny.gguf"));
  });

  it("refuses paths, links out of the models directory, and names of files where workers start", () => {
    for (const model of [
      "/etc/passwd",
      join(dir, "secret.yaml"),
      "../secret.yaml",
      "./secret.yaml",
      "a/b/c",
      "~root/x",
      "C:\\x.gguf",
      "escape.gguf", // in the models directory, but a symlink out of it; and no such name in workDir
      "secret.yaml", // a file in the directory workers start in
    ]) {
      const r = refusal(() => confineModel(model, roots()));
      expect(r.field, model).toBe("model");
      expect(r.message, model).not.toContain("hunter2");
    }
    expect(refusal(() => confineModel("synthetic:nope", roots())).field).toBe("model");
  });
});
