/**
 * Reading a config's text: a file's contents, and YAML (which also reads JSON) or JSON parsed into
 * a value with its syntax problems; and the error that reports every problem of a config at once.
 */
import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { TokenForgeError } from "../errors.js";
import type { ConfigProblem } from "./schema-problems.js";

/** Every problem of a config at once; `field` is the first one's path. */
export class ConfigError extends TokenForgeError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], source?: string) {
    const where = source === undefined ? "" : ` ${source}`;
    const lines = problems.map((p) => `  - ${p.path === "" ? "" : `${p.path}: `}${p.message}`);
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    super("invalid_request", `invalid benchmark config${where} (${count}):\n${lines.join("\n")}`, {
      field: problems.find((p) => p.path !== "")?.path,
    });
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** A file's text; a file that cannot be read is a `ConfigError` under `path`. */
export function readText(file: string, path: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError([{ path, message: `cannot read ${file} (${reason})` }]);
  }
}

/** Text parsed as YAML (which also reads JSON) or strict JSON, with every syntax problem. */
export function parseText(
  text: string,
  format: "yaml" | "json",
): { value: unknown; problems: ConfigProblem[] } {
  if (format === "json") {
    try {
      return { value: JSON.parse(text), problems: [] };
    } catch (err) {
      return {
        value: undefined,
        problems: [{ path: "", message: `not valid JSON: ${(err as Error).message}` }],
      };
    }
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      value: undefined,
      problems: doc.errors.map((e) => ({ path: "", message: `not valid YAML: ${e.message.trim()}` })),
    };
  }
  return { value: doc.toJS(), problems: [] };
}
