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

/** Where the API key lives: this tab only, gone when it closes (never localStorage, never a cookie). */
const KEY_ITEM = "tokenforge.apiKey";

/** The API key this tab sends, when it has one. */
export function apiKey(): string | undefined {
  try {
    return sessionStorage.getItem(KEY_ITEM) || undefined;
  } catch {
    return undefined;
  }
}

function keepApiKey(key: string | undefined): void {
  try {
    if (key) sessionStorage.setItem(KEY_ITEM, key);
    else sessionStorage.removeItem(KEY_ITEM);
  } catch {
    // Storage refused (private mode): the key lasts until the page reloads.
  }
}

function withKey(headers: Record<string, string>): Record<string, string> {
  const key = apiKey();
  return key ? { ...headers, authorization: `Bearer ${key}` } : headers;
}

/** The one key prompt on screen; every call answered 401 meanwhile waits for the same one. */
let asking: Promise<string | undefined> | undefined;

/** Asks for an API key in a small form over the page; undefined when the user cancels. */
function askForKey(reason: string): Promise<string | undefined> {
  asking ??= new Promise<string | undefined>((resolve) => {
    const input = document.createElement("input");
    input.type = "password";
    input.name = "key";
    input.autocomplete = "off";
    input.placeholder = "tf_…";
    input.setAttribute("aria-label", "API key");
    const form = document.createElement("form");
    form.className = "key-prompt";
    const text = document.createElement("p");
    text.textContent = `${reason} Enter an API key (tokenforge keys create makes one); it is kept in this tab only.`;
    const use = document.createElement("button");
    use.type = "submit";
    use.textContent = "Use key";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = "Cancel";
    form.append(text, input, use, cancel);
    const done = (key: string | undefined) => {
      form.remove();
      asking = undefined;
      resolve(key);
    };
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      done(input.value.trim() || undefined);
    });
    cancel.addEventListener("click", () => done(undefined));
    document.body.append(form);
    input.focus();
  });
  return asking;
}

/**
 * JSON in and out, errors as ApiError. A string body with a content type is sent as it is; any
 * other body as JSON. The answer's type is the caller's word for what that route returns.
 * Sends the tab's API key; an answer of 401 asks for a key (again, with the gateway's reason, as
 * long as the one given is refused) and tries once more with it; cancelling gives the 401.
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
  let res: Response;
  for (;;) {
    init.headers = withKey(headers);
    res = await fetch(path, init);
    if (res.status !== 401) break;
    const message = ((await res.json().catch(() => ({}))) as { error?: { message?: string } }).error?.message;
    keepApiKey(undefined);
    const key = await askForKey(message ? `The gateway said: ${message}.` : "The gateway needs an API key.");
    if (key === undefined) {
      throw new ApiError(401, {
        error: { code: "unauthorized", message: message ?? "an API key is required" },
      });
    }
    keepApiKey(key);
  }
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

/**
 * A URL the page can open or frame for an artifact: its own address while the tab has no key (a
 * gateway without keys), else the bytes fetched with the key, as a blob URL of this page.
 */
export async function artifactUrl(id: string, name: string): Promise<string> {
  if (apiKey() === undefined) return artifactHref(id, name);
  const res = await fetch(artifactHref(id, name), { headers: withKey({}) });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => undefined));
  return URL.createObjectURL(await res.blob());
}
