/**
 * What a run records of a target's `/health` (or `/v1/models`) answer: the HTTP status and a
 * short, sanitised summary — the few keys a worker's health body is known to carry (engine,
 * model, batch size, threads, …) with scalar values of bounded length — never the body as it
 * came. A URL can point anywhere; what answered there is not copied into result.json.
 */

/** Keys of a health body worth keeping (the worker's EngineInfo, vLLM's and the sim's fields). */
const KEPT = [
  "status",
  "runtime",
  "engine",
  "engineVersion",
  "version",
  "model",
  "contextLength",
  "max_model_len",
  "vocabSize",
  "parallel",
  "threads",
  "device",
  "load_seconds",
] as const;

/** Longest string value kept. */
const MAX_STRING = 128;
/** Model ids kept from a `/v1/models` list. */
const MAX_MODELS = 8;

export interface HealthSummary {
  http_status: number;
  [key: string]: string | number | boolean | string[];
}

function scalar(v: unknown): string | number | boolean | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v === "boolean") return v;
  if (typeof v !== "string") return undefined;
  // Printable text only, cut short: a field of a health body, not a document.
  const clean = v.replace(/[^\x20-\x7e]/g, "");
  return clean.length > MAX_STRING ? `${clean.slice(0, MAX_STRING)}…` : clean;
}

/** The status and the known scalar keys of a `/health` body; a non-JSON body keeps only the status. */
export function healthSummary(status: number, body: unknown): HealthSummary {
  const out: HealthSummary = { http_status: status };
  if (typeof body !== "object" || body === null || Array.isArray(body)) return out;
  const record = body as Record<string, unknown>;
  for (const key of KEPT) {
    const v = scalar(record[key]);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** The status and up to 8 model ids of a `/v1/models` answer. */
export function modelsSummary(status: number, body: unknown): HealthSummary {
  const out: HealthSummary = { http_status: status };
  const data = typeof body === "object" && body !== null ? (body as { data?: unknown }).data : undefined;
  if (!Array.isArray(data)) return out;
  const ids = data
    .map((m) => scalar(typeof m === "object" && m !== null ? (m as { id?: unknown }).id : undefined))
    .filter((id): id is string => typeof id === "string")
    .slice(0, MAX_MODELS);
  out.models = ids;
  return out;
}
