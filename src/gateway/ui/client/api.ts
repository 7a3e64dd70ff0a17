/** Calls to the gateway's own API (same origin) and the links into it. */

/** An answer other than 2xx, with the `{error: {code, message, field?}}` the gateway sends. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  readonly field: string | undefined;

  constructor(status: number, body: unknown) {
    const e =
      (body as { error?: { message?: string; code?: string; field?: string } } | undefined)?.error ?? {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code;
    this.field = e.field;
  }
}

/**
 * JSON in and out, errors as ApiError. A string body with a content type is sent as it is; any
 * other body as JSON. The answer's type is the caller's word for what that route returns.
 */
export async function api<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  const init: RequestInit = { method, headers };
  if (body !== undefined) {
    headers["content-type"] = contentType || "application/json";
    init.body = typeof body === "string" && contentType ? body : JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    parsed = { error: { message: text } };
  }
  if (!res.ok) throw new ApiError(res.status, parsed);
  return parsed as T;
}

export const enc = encodeURIComponent;

export const runHref = (id: string): string => `#/runs/${enc(id)}`;

export const artifactHref = (id: string, name: string): string =>
  `/benchmarks/${enc(id)}/artifacts/${name.split("/").map(enc).join("/")}`;
