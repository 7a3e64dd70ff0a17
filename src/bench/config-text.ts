/**
 * Reading a config's text: a file's contents (refused past the size limit before it is read), and
 * YAML (which also reads JSON) or JSON parsed into a value within the bounds of bounded-parse.ts
 * (size, nesting, YAML aliases); and the error that reports every problem of a config at once,
 * capped in size however large the input that caused it. Every config, cost profile and config
 * text a request carries is read through here.
 */
import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import {
  capText,
  DEFAULT_MAX_CONFIG_BYTES,
  type ParseLimits,
  parseJsonBounded,
  parseYamlBounded,
} from "../bounded-parse.js";
import { TokenForgeError } from "../errors.js";
import type { ConfigProblem } from "./schema-problems.js";

/** Problems a config error lists; the rest are counted. */
const MAX_LISTED_PROBLEMS = 50;
/** Longest path and message of one listed problem. */
const MAX_PATH_CHARS = 200;
const MAX_PROBLEM_CHARS = 300;

/** Every problem of a config at once; `field` is the first one's path. */
export class ConfigError extends TokenForgeError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], source?: string) {
    const where = source === undefined ? "" : ` ${capText(source, MAX_PATH_CHARS)}`;
    const capped = problems.map((p) => ({
      path: capText(p.path, MAX_PATH_CHARS),
      message: capText(p.message, MAX_PROBLEM_CHARS),
    }));
    const lines = capped
      .slice(0, MAX_LISTED_PROBLEMS)
      .map((p) => `  - ${p.path === "" ? "" : `${p.path}: `}${p.message}`);
    if (capped.length > MAX_LISTED_PROBLEMS)
      lines.push(`  - … and ${capped.length - MAX_LISTED_PROBLEMS} more`);
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    super("invalid_request", `invalid benchmark config${where} (${count}):\n${lines.join("\n")}`, {
      field: capped.find((p) => p.path !== "")?.path,
    });
    this.name = "ConfigError";
    this.problems = capped;
  }
}

/**
 * A file's text; a file that cannot be read, or is larger than `maxBytes`, is a `ConfigError`
 * under `path` (the size is checked on the open file, before anything is read).
 */
export function readText(file: string, path: string, maxBytes = DEFAULT_MAX_CONFIG_BYTES): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    const size = fstatSync(fd).size;
    if (size > maxBytes) {
      throw new ConfigError([
        { path, message: `${file} is ${size} bytes; a config may be at most ${maxBytes} bytes` },
      ]);
    }
    return readFileSync(fd, "utf8");
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError([{ path, message: `cannot read ${file} (${reason})` }]);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Text parsed as YAML (which also reads JSON) or strict JSON, with every syntax problem, within
 * the limits: too large, nested too deep, a YAML alias bomb or an unresolved alias are problems.
 */
export function parseText(
  text: string,
  format: "yaml" | "json",
  limits: ParseLimits = {},
): { value: unknown; problems: ConfigProblem[] } {
  const parsed = format === "json" ? parseJsonBounded(text, limits) : parseYamlBounded(text, limits);
  if (parsed.ok) return { value: parsed.value, problems: [] };
  return {
    value: undefined,
    problems: parsed.problems.map((message) => ({ path: "", message })),
  };
}

/** A config file's parsed value (YAML, or JSON for `.json`), or a `ConfigError` naming the file. */
export function readConfigValue(file: string): unknown {
  const parsed = parseText(readText(file, ""), /\.json$/i.test(file) ? "json" : "yaml");
  if (parsed.problems.length > 0) throw new ConfigError(parsed.problems, file);
  return parsed.value;
}
