/**
 * Building elements: server data always goes in as text nodes, never as HTML, and links may only
 * point into this page or this origin. Also the error box, the table and the status badge every
 * view uses.
 */

/** What an element may contain; absent values (undefined, null, false) are left out. */
export type Child = Node | string | number | null | undefined | false | readonly Child[];

/** Attributes: "class", "on<event>" (a listener), DOM properties, or attributes as text. */
export type Attrs = Record<string, unknown>;

const PROPERTIES = new Set(["value", "checked", "disabled", "selected"]);

function present(children: readonly Child[]): (Node | string | number)[] {
  const out: (Node | string | number)[] = [];
  for (const c of children) {
    if (Array.isArray(c)) out.push(...present(c));
    else if (c !== undefined && c !== null && c !== false) out.push(c as Node | string | number);
  }
  return out;
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = String(v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v as EventListener);
    else if (PROPERTIES.has(k)) (el as unknown as Record<string, unknown>)[k] = v;
    else if (k === "href" && !/^(#|\/(?!\/))/.test(String(v))) throw new Error(`refusing the link ${v}`);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of present(children)) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** Replaces an element's children. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  for (const c of present(children)) el.append(c instanceof Node ? c : String(c));
}

/** The value of a form's field by name. */
export function fieldValue(form: HTMLFormElement, name: string): string {
  return (form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement).value;
}

/** A status word in its color (the class names are the statuses). */
export function badge(status: string): HTMLSpanElement {
  return h("span", { class: `status status-${String(status).replace(/[^a-z]/g, "")}` }, status);
}

/**
 * An API error as a box: the gateway's reason, the field it names and the HTTP status; a config
 * error's problem lines become a list, every one shown. A request that got no answer says so.
 */
export function errorBox(err: unknown): HTMLDivElement {
  const e = err as { message?: unknown; status?: unknown; field?: unknown } | null | undefined;
  const message = e?.message;
  const lines = String(err && message ? message : err).split("\n");
  if (err instanceof TypeError) lines[0] = `the gateway did not answer (${lines[0]})`;
  const meta =
    typeof e?.status === "number"
      ? `HTTP ${e.status}${typeof e.field === "string" ? ` · field ${e.field}` : ""}`
      : undefined;
  const items = lines
    .slice(1)
    .map((l) => l.replace(/^\s*-\s*/, ""))
    .filter((l) => l !== "");
  return h(
    "div",
    { class: "error", role: "alert" },
    h("p", {}, lines[0]),
    meta === undefined ? null : h("div", { class: "dim error-meta" }, meta),
    items.length > 0
      ? h(
          "ul",
          {},
          items.map((l) => h("li", {}, l)),
        )
      : null,
  );
}

export function table(head: string[], rows: Child[], cls?: string): HTMLDivElement {
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { class: cls || "" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          head.map((c) => h("th", {}, c)),
        ),
      ),
      h("tbody", {}, rows),
    ),
  );
}
