/**
 * The files an API caller may name, and nothing else. A caller never gives the gateway a path on
 * its host: datasets are names inside the datasets directory, cost profiles are names in the
 * profiles directory (or inline objects), and a deployment's model is `synthetic:…`, a name in
 * the models directory, or a plain name that no file answers to. Every refusal reads the same
 * whether or not something exists outside the directory, and no refusal quotes a file's text.
 * (The local CLI reads any path: it runs as the user, on the user's machine.)
 */
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { extname, isAbsolute, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseText } from "../bench/config-text.js";
import { TokenForgeError } from "../errors.js";
import { parseModelRef, SYNTHETIC_PREFIX } from "../models/reference.js";

/** The shipped profiles (configs/cost-profiles), two levels above src/gateway/ and dist/gateway/. */
export const SHIPPED_PROFILES_DIR = fileURLToPath(new URL("../../configs/cost-profiles", import.meta.url));

/** The directories API callers' names resolve in; an absent one accepts no name. */
export interface CallerRoots {
  /** Dataset files (`dataset: {jsonl|sharegpt: NAME}`). */
  datasetsDir?: string | undefined;
  /** Cost profiles by name (`cost: NAME`). */
  profilesDir?: string | undefined;
  /** Model files and directories a deployment may name. */
  modelsDir?: string | undefined;
  /** Where worker processes start (relative model names would be read there); default the working directory. */
  workDir?: string | undefined;
}

/** A plain name: letters, digits, `.`, `_`, `-`, optionally one `org/` part (a Hugging Face id). */
const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/;
/** A profile name: one segment, no separators. */
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const PROFILE_EXTENSIONS = ["", ".yaml", ".yml", ".json"];

function refuse(field: string, message: string): never {
  throw new TokenForgeError("invalid_request", message, { field });
}

/** Whether `name` could leave a directory it is joined to: absolute, `..`, a home or drive prefix, a NUL. */
function escapes(name: string): boolean {
  if (name === "" || name.includes("\0") || isAbsolute(name) || name.startsWith("~")) return true;
  if (/^[A-Za-z]:/.test(name) || name.includes("\\")) return true;
  return name.split("/").some((part) => part === "..");
}

/**
 * The real path of `name` inside `root` (symlinks followed), or undefined when there is none:
 * absent, escaping the root by any route (absolute, `..`, a symlink pointing out), or of the
 * wrong kind. Touches the file system only under `root`.
 */
export function insideRoot(
  root: string | undefined,
  name: string,
  kind: "file" | "file-or-dir" = "file",
): string | undefined {
  if (root === undefined || escapes(name)) return undefined;
  let base: string;
  let real: string;
  try {
    base = realpathSync(root);
    real = realpathSync(resolve(base, name));
  } catch {
    return undefined;
  }
  if (real === base || !real.startsWith(base + sep)) return undefined;
  try {
    const s = statSync(real);
    return s.isFile() || (kind === "file-or-dir" && s.isDirectory()) ? real : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A benchmark request with every file name resolved inside the caller's directories: dataset
 * names become real paths inside the datasets directory, a profile name becomes the profile's
 * contents inline. Anything else that names a file is refused on its field. The body is copied.
 */
export function confineBenchmarkBody(body: unknown, roots: CallerRoots): unknown {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return body;
  const out: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  if (Array.isArray(out.workloads)) {
    out.workloads = out.workloads.map((w, i) => confineWorkload(w, `workloads[${i}]`, roots));
  }
  if (typeof out.cost === "string") out.cost = profileByName(out.cost, roots.profilesDir);
  return out;
}

function confineWorkload(w: unknown, path: string, roots: CallerRoots): unknown {
  if (typeof w !== "object" || w === null || Array.isArray(w)) return w;
  const workload = w as Record<string, unknown>;
  const d = workload.dataset;
  if (typeof d !== "object" || d === null || Array.isArray(d)) return w;
  const dataset: Record<string, unknown> = { ...(d as Record<string, unknown>) };
  for (const key of ["jsonl", "sharegpt"]) {
    const name = dataset[key];
    if (typeof name !== "string" || name === "") continue; // the schema names the shape
    const field = `${path}.dataset.${key}`;
    if (roots.datasetsDir === undefined) {
      refuse(
        field,
        `${field}: this gateway has no datasets directory (start it with --datasets-dir): runs over the API use synthetic prompts`,
      );
    }
    const real = insideRoot(roots.datasetsDir, name);
    if (real === undefined) {
      refuse(
        field,
        `${field}: "${name}" is not a dataset in the gateway's datasets directory (give a file name relative to it; absolute paths, .. and links out of it are refused)`,
      );
    }
    dataset[key] = real;
  }
  return { ...workload, dataset };
}

/** The profiles a name may pick, without extensions, sorted. */
function profileNames(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => PROFILE_EXTENSIONS.slice(1).includes(extname(f).toLowerCase()))
      .map((f) => f.slice(0, -extname(f).length))
      .sort();
  } catch {
    return [];
  }
}

/** A named cost profile's contents (checked by the config's schema as an inline profile). */
function profileByName(name: string, dir: string | undefined): unknown {
  const profiles = dir ?? SHIPPED_PROFILES_DIR;
  const known = profileNames(profiles);
  const notFound = () =>
    refuse(
      "cost",
      `cost: "${name}" is not a cost profile of this gateway; give a profile name (${known.join(", ") || "none"}) or the profile inline`,
    );
  if (!PROFILE_NAME.test(name)) notFound();
  const file = PROFILE_EXTENSIONS.map((ext) => insideRoot(profiles, `${name}${ext}`)).find(
    (f) => f !== undefined && PROFILE_EXTENSIONS.slice(1).includes(extname(f).toLowerCase()),
  );
  if (file === undefined) return notFound();
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return notFound();
  }
  const parsed = parseText(text, extname(file).toLowerCase() === ".json" ? "json" : "yaml");
  if (parsed.problems.length > 0)
    refuse("cost", `cost: the profile "${name}" on this gateway cannot be read`);
  return parsed.value;
}

/**
 * The model reference a deployment asked for through the API, as the backend will launch it:
 * `synthetic:…` as it is, a name in the models directory as its real path there, and any other
 * plain name (a served name, a Hugging Face id) as it is when no file answers to it where
 * workers start.
 */
export function confineModel(model: string, roots: CallerRoots): string {
  if (model.startsWith(SYNTHETIC_PREFIX)) {
    parseModelRef(model); // invalid_model_ref on field model, naming what is valid
    return model;
  }
  const explain = `a deployment's model is synthetic:<preset>, the name of a model in the gateway's models directory${roots.modelsDir === undefined ? " (start it with --models-dir)" : ""}, or a plain name (letters, digits, . _ -, one org/ part)`;
  if (escapes(model) || !PLAIN_NAME.test(model)) refuse("model", `model "${model}" is refused: ${explain}`);
  const inModels = insideRoot(roots.modelsDir, model, "file-or-dir");
  if (inModels !== undefined) return inModels;
  // An entry of the models directory that does not resolve inside it (a link out) is refused,
  // not passed on as a plain name.
  if (roots.modelsDir !== undefined && exists(join(roots.modelsDir, model))) {
    refuse("model", `model "${model}" in the models directory leads out of it: ${explain}`);
  }
  // A worker reads a relative name against the directory it starts in: a name that is a file
  // there would reach it outside the models directory.
  const workDir = roots.workDir ?? process.cwd();
  if (exists(join(workDir, model))) {
    refuse(
      "model",
      `model "${model}" names a file where workers start, outside the models directory: ${explain}`,
    );
  }
  return model;
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
