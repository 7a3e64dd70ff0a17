/**
 * Errors in OpenAI's shape, `{error: {message, type, param, code}}`, from our coded errors and
 * from Fastify's own (validation, malformed JSON, body too large).
 */
import type { FastifyError } from "fastify";
import { capText } from "../bounded-parse.js";
import { isTokenForgeError } from "../errors.js";

/** Room for a config error listing every problem (each capped where it is made), and no more. */
const MAX_ERROR_MESSAGE_CHARS = 16 * 1024;
const MAX_PARAM_CHARS = 256;

/**
 * `text` capped so that it stays near `max` characters once written as JSON: control characters
 * grow sixfold there (`\u0000`), so a text of them is cut shorter.
 */
function capEscaped(text: string, max: number): string {
  const capped = capText(text, max);
  return JSON.stringify(capped).length > max + max / 4 ? capText(text, Math.floor(max / 6)) : capped;
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface HttpError {
  status: number;
  body: OpenAIErrorBody;
}

const TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "invalid_request_error",
  414: "invalid_request_error",
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
  // A caller's input can be echoed here (an unknown key, a model name): never at full size.
  const error = {
    message: capEscaped(message, MAX_ERROR_MESSAGE_CHARS),
    type: TYPES[status] ?? "server_error",
    param: param === null ? null : capText(param, MAX_PARAM_CHARS),
    code,
  };
  return { status, body: { error } };
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
    // An unknown key is named in the message, shortened: it may be a megabyte long.
    const field = first ? capText(fieldOf(first), MAX_PARAM_CHARS) : "body";
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
    // Fastify's own messages quote the URL or the header they refused: a short excerpt is enough.
    return openAIError(fe.statusCode, capText(fe.message, 500), null, fe.code ?? null);
  }
  return openAIError(500, `internal error: ${fe.message ?? String(err)}`, null, "internal_error");
}
