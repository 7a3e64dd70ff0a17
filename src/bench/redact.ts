/**
 * Secrets out of everything a run records: a server's error body or health answer may echo the
 * `Authorization` header or an API key (a 401 that quotes the request), and what is recorded
 * (result.json, requests.jsonl, the report, logs, the store) must never carry it. The keys the run
 * was given are replaced wherever they appear; so are the shapes keys commonly have (a Bearer
 * token, `sk-…`, `tf_…`, an `api_key`/`authorization`/`password` value), whoever's they are.
 */

/** What a secret is replaced by. */
export const REDACTED = "[redacted]";

/** Shorter values are not treated as secrets: replacing them would garble ordinary text. */
const MIN_SECRET_CHARS = 6;

const PATTERNS: readonly RegExp[] = [
  // `Bearer <token>` wherever it appears (a header echoed in a body).
  /\b(Bearer)(\s+)(?!\[redacted\])[A-Za-z0-9._~+/=-]{4,}/gi,
  // OpenAI-style and TokenForge keys.
  /\bsk-[A-Za-z0-9_-]{8,}/g,
  /\btf_[A-Za-z0-9_-]{8,}/g,
  // A value under a key-like name: `"api_key": "…"`, `x-api-key: …`, `password=…`.
  /\b(api[_-]?key|x-api-key|authorization|access[_-]?token|password|secret)(["']?\s*[:=]\s*["']?)(?!\[redacted\]|Bearer\s)[^\s"',;}&]{4,}/gi,
];

/** The key in `Authorization: Bearer <key>` (or the header's whole value), from a request's headers. */
export function secretsOfHeaders(headers: Record<string, string> | undefined): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    const lower = name.toLowerCase();
    if (lower !== "authorization" && lower !== "x-api-key" && lower !== "api-key") continue;
    out.push(value);
    const token = /^\s*\S+\s+(\S+)\s*$/.exec(value)?.[1];
    if (token !== undefined) out.push(token);
  }
  return out;
}

/** `text` with every known secret and every key-shaped value replaced by {@link REDACTED}. */
export function redactText(text: string, secrets: Iterable<string> = []): string {
  let out = text;
  // Longest first, so a header value is replaced whole before the key inside it.
  const known = [...new Set(secrets)]
    .filter((s) => s.length >= MIN_SECRET_CHARS)
    .sort((a, b) => b.length - a.length);
  for (const s of known) if (out.includes(s)) out = out.split(s).join(REDACTED);
  for (const re of PATTERNS) {
    // A pattern with groups keeps its name and separator; without, the callback gets an offset.
    out = out.replace(re, (_match, name: unknown, sep: unknown) =>
      typeof name === "string" && typeof sep === "string" ? `${name}${sep}${REDACTED}` : REDACTED,
    );
  }
  return out;
}

/** A JSON-like value with every string (keys included) redacted; other values are kept as they are. */
export function redactValue<T>(value: T, secrets: Iterable<string> = []): T {
  const known = [...secrets];
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return redactText(v, known);
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [k, child] of Object.entries(v)) out[redactText(k, known)] = walk(child);
      return out;
    }
    return v;
  };
  return walk(value) as T;
}
