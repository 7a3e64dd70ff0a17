/**
 * Parsing what callers send, within bounds: JSON whose nesting is checked on the text before it
 * is parsed (so a body nested thousands deep is refused before anything recurses over it), YAML
 * with a cap on aliases, size and depth (an alias bomb or an unresolved alias is a problem, not an
 * exception), and messages capped in size (a 1 MB key is never echoed whole). Imports nothing of
 * TokenForge's, so the worker, the harness, the runtimes and the gateway share it.
 */
import { LineCounter, parseDocument } from "yaml";

/** Nesting of objects and arrays a request body or config may have: configs use 6, chat bodies 4. */
export const DEFAULT_MAX_DEPTH = 64;
/** Size of a config document (YAML or JSON) in bytes: a config is a few kilobytes. */
export const DEFAULT_MAX_CONFIG_BYTES = 1024 * 1024;
/**
 * Size of a YAML document: the YAML parser spends up to ~10 µs a byte on text made of stray
 * anchors or quotes, so a YAML config is held to a quarter of a JSON one (still far more than a
 * config needs).
 */
export const DEFAULT_MAX_YAML_BYTES = 256 * 1024;
/** YAML aliases a document may resolve (the `yaml` package's own default; an alias bomb needs far more). */
export const DEFAULT_MAX_ALIAS_COUNT = 100;
/** Longest message a caller's input can make TokenForge print or answer. */
export const MAX_MESSAGE_CHARS = 2000;

export interface ParseLimits {
  maxDepth?: number;
  maxBytes?: number;
  maxAliasCount?: number;
}

/** `text` cut to `max` characters, saying how much was left out. */
export function capText(text: string, max = MAX_MESSAGE_CHARS): string {
  if (text.length <= max) return text;
  const keep = Math.max(0, max - 40);
  return `${text.slice(0, keep)}… (${text.length - keep} more characters)`;
}

/**
 * The offset in JSON `text` where nesting first goes past `maxDepth`, or -1. One pass over the
 * characters, skipping strings; it does not check the syntax (the parser does that next).
 */
export function jsonDepthExceeded(text: string, maxDepth: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return i;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return -1;
}

/** True when `value` nests objects and arrays deeper than `maxDepth` (checked without recursion). */
export function depthExceeds(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    if (d + 1 > maxDepth) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === "object" && child !== null) stack.push([child, d + 1]);
    }
  }
  return false;
}

/** Bytes of `text` in UTF-8, counted without encoding it. */
function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

function sizeProblem(text: string, maxBytes: number): string | undefined {
  // Characters are at most 3 UTF-8 bytes each: most texts are decided without counting.
  if (text.length * 3 <= maxBytes) return undefined;
  const bytes = utf8Bytes(text);
  return bytes > maxBytes ? `the document is ${bytes} bytes; the most accepted is ${maxBytes}` : undefined;
}

/** The result of parsing: a value, or the problems that stopped it (each one line, capped). */
export type Parsed = { ok: true; value: unknown } | { ok: false; problems: string[] };

/** Strict JSON within the limits. */
export function parseJsonBounded(text: string, limits: ParseLimits = {}): Parsed {
  const tooBig = sizeProblem(text, limits.maxBytes ?? DEFAULT_MAX_CONFIG_BYTES);
  if (tooBig !== undefined) return { ok: false, problems: [tooBig] };
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  const at = jsonDepthExceeded(text, maxDepth);
  if (at >= 0)
    return {
      ok: false,
      problems: [`the document is nested deeper than ${maxDepth} levels (at character ${at})`],
    };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, problems: [capText(`not valid JSON: ${(err as Error).message}`, 300)] };
  }
}

/**
 * YAML (which reads JSON too) within the limits: duplicate keys, an unresolved alias, more than
 * `maxAliasCount` aliases resolved, nesting past `maxDepth` and a document past `maxBytes` are
 * problems; at most 20 syntax problems are listed.
 */
export function parseYamlBounded(text: string, limits: ParseLimits = {}): Parsed {
  const tooBig = sizeProblem(text, limits.maxBytes ?? DEFAULT_MAX_YAML_BYTES);
  if (tooBig !== undefined) return { ok: false, problems: [tooBig] };
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  // Flow collections nested thousands deep cost the YAML parser seconds before any check on the
  // value could run: brackets are counted first (outside double quotes; YAML's other scalars may
  // hold an unmatched bracket, hence the margin), and the value's own depth is checked after.
  const at = jsonDepthExceeded(text, maxDepth * 4);
  if (at >= 0)
    return {
      ok: false,
      problems: [`the document is nested deeper than ${maxDepth} levels (at character ${at})`],
    };
  let value: unknown;
  try {
    // Plain errors, placed by one line index: the package's pretty errors rescan the text for
    // each error, and a text of 60,000 stray anchors has as many (a minute of CPU).
    const lines = new LineCounter();
    const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
    if (doc.errors.length > 0) {
      const problems = doc.errors.slice(0, 20).map((e) => {
        const at = lines.linePos(e.pos[0]);
        return capText(`not valid YAML: ${e.message.trim()} at line ${at.line}, column ${at.col}`, 500);
      });
      if (doc.errors.length > 20) problems.push(`… and ${doc.errors.length - 20} more YAML problems`);
      return { ok: false, problems };
    }
    value = doc.toJS({ maxAliasCount: limits.maxAliasCount ?? DEFAULT_MAX_ALIAS_COUNT });
  } catch (err) {
    return { ok: false, problems: [yamlFailure(err, limits)] };
  }
  if (depthExceeds(value, maxDepth))
    return { ok: false, problems: [`the document is nested deeper than ${maxDepth} levels`] };
  return { ok: true, value };
}

/** What the yaml package throws while resolving, in words that name the problem. */
function yamlFailure(err: unknown, limits: ParseLimits): string {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof RangeError && /call stack/i.test(message))
    return `the document is nested deeper than ${limits.maxDepth ?? DEFAULT_MAX_DEPTH} levels`;
  if (/excessive alias count/i.test(message))
    return `the document uses YAML aliases (*name) more than ${limits.maxAliasCount ?? DEFAULT_MAX_ALIAS_COUNT} times: refused as an alias bomb`;
  return capText(`not valid YAML: ${message}`, 300);
}
