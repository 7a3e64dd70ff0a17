/**
 * Errors in OpenAI's shape, `{error: {message, type, param, code}}`, from our coded errors and
 * from Fastify's own (validation, malformed JSON, body too large).
 */
import type { FastifyError } from "fastify";
import { isTokenForgeError } from "../errors.js";

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface HttpError {
  status: number;
  body: OpenAIErrorBody;
}

const TYPES: Record<number, string> = {
  400: "invalid_request_error",
  404: "not_found_error",
  413: "invalid_request_error",
  415: "invalid_request_error",
  429: "rate_limit_error",
  503: "service_unavailable_error",
};

export function openAIError(
  status: number,
  message: string,
  param: string | null,
  code: string | null,
): HttpError {
  return { status, body: { error: { message, type: TYPES[status] ?? "server_error", param, code } } };
}

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** `/stop/0` → `stop[0]`; a missing or unknown property is named too. */
function fieldOf(e: AjvError): string {
  const parts = e.instancePath
    .split("/")
    .filter((p) => p.length > 0)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`));
  const extra = e.params.missingProperty ?? e.params.additionalProperty;
  if (typeof extra === "string") parts.push(`.${extra}`);
  return parts.join("").replace(/^\./, "") || "body";
}

/**
 * A union's alternatives each fail in their own way; the error that names the deepest path is
 * the one that says what the user got wrong.
 */
function pickValidationError(errors: AjvError[]): AjvError | undefined {
  const specific = errors.filter((e) => e.keyword !== "anyOf" && e.keyword !== "oneOf");
  const pool = specific.length > 0 ? specific : errors;
  return pool.reduce<AjvError | undefined>(
    (best, e) => (best === undefined || fieldOf(e).length > fieldOf(best).length ? e : best),
    undefined,
  );
}

export function toHttpError(err: unknown): HttpError {
  if (isTokenForgeError(err)) return openAIError(err.status, err.message, err.field ?? null, err.code);
  const fe = err as FastifyError & { validation?: AjvError[] };
  if (Array.isArray(fe.validation)) {
    const first = pickValidationError(fe.validation);
    const field = first ? fieldOf(first) : "body";
    let detail = first?.message ?? "is invalid";
    if (first?.keyword === "additionalProperties") detail = "is not a supported field";
    if (first?.keyword === "required") detail = "is required";
    if (first?.params.allowedValue !== undefined)
      detail = `must be ${JSON.stringify(first.params.allowedValue)}`;
    return openAIError(400, `${field} ${detail}`, field, "invalid_request");
  }
  switch (fe.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return openAIError(400, `the body is not valid JSON: ${fe.message}`, "body", "invalid_json");
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return openAIError(413, fe.message, "body", "payload_too_large");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return openAIError(415, fe.message, "content-type", "unsupported_media_type");
  }
  if (typeof fe.statusCode === "number" && fe.statusCode >= 400 && fe.statusCode < 500) {
    return openAIError(fe.statusCode, fe.message, null, fe.code ?? null);
  }
  return openAIError(500, `internal error: ${fe.message ?? String(err)}`, null, "internal_error");
}
