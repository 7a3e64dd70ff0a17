/**
 * The UI script's shared part: building elements (text always goes in as text nodes, never as
 * HTML), calling the gateway's own API, number formats, and the hash router that shows one view
 * at a time and stops the previous view's polling. Plain ES2020 kept as text: it runs only in the
 * browser. The views (the other files here) add themselves to `VIEWS`.
 */
export const CORE_SCRIPT = String.raw`
const ABSENT = "\u2013";
const VIEWS = {};
const root = document.getElementById("view");
let timers = [];
/** Bumped on every navigation: async work from an older view sees it changed and draws nothing. */
let generation = 0;

/** An element; attributes "class", "on<event>" (a listener) and DOM properties are handled. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value" || k === "checked" || k === "disabled" || k === "selected") el[k] = v;
    else if (k === "href" && !/^(#|\/(?!\/))/.test(String(v))) throw new Error("refusing the link " + v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function replace(el, ...children) {
  el.replaceChildren();
  for (const c of children.flat(Infinity)) if (c !== undefined && c !== null && c !== false) el.append(c);
}

class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || "HTTP " + status);
    this.status = status;
    this.code = e.code;
    this.field = e.field;
  }
}

/** A call to the gateway's API (same origin); JSON in and out, errors as ApiError. */
async function api(method, path, body, contentType) {
  const init = { method, headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.headers["content-type"] = contentType || "application/json";
    init.body = typeof body === "string" && contentType ? body : JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let parsed;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    parsed = { error: { message: text } };
  }
  if (!res.ok) throw new ApiError(res.status, parsed);
  return parsed;
}

const enc = encodeURIComponent;
const runHref = (id) => "#/runs/" + enc(id);
const artifactHref = (id, name) =>
  "/benchmarks/" + enc(id) + "/artifacts/" + name.split("/").map(enc).join("/");

function fmt(v) {
  if (typeof v !== "number" || !Number.isFinite(v)) return ABSENT;
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  if (a === 0) return "0";
  return v.toFixed(3);
}

function fmtPct(v, signed) {
  if (typeof v !== "number" || !Number.isFinite(v)) return ABSENT;
  const s = Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1);
  return (signed && v > 0 ? "+" : "") + s + " %";
}

function fmtTime(iso) {
  if (!iso) return ABSENT;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

function duration(run) {
  if (!run.startedAt) return ABSENT;
  const end = run.finishedAt ? Date.parse(run.finishedAt) : Date.now();
  const s = (end - Date.parse(run.startedAt)) / 1000;
  return Number.isFinite(s) ? fmt(s) + " s" : ABSENT;
}

/** A status word in its color (the class names are the statuses). */
function badge(status) {
  return h("span", { class: "status status-" + String(status).replace(/[^a-z]/g, "") }, status);
}

/** An API error as a box; a config error's problem lines become a list, every one shown. */
function errorBox(err) {
  const lines = String(err && err.message ? err.message : err).split("\n");
  const items = lines
    .slice(1)
    .map((l) => l.replace(/^\s*-\s*/, ""))
    .filter((l) => l !== "");
  return h(
    "div",
    { class: "error", role: "alert" },
    h("p", {}, lines[0]),
    items.length > 0
      ? h(
          "ul",
          {},
          items.map((l) => h("li", {}, l)),
        )
      : null,
  );
}

function table(head, rows, cls) {
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

/**
 * Runs fn now and every ms until the view changes (or fn returns false); an error shows in
 * errorSlot, and the next success clears it.
 */
function every(ms, fn, errorSlot) {
  const g = generation;
  let busy = false;
  let timer;
  const tick = async () => {
    if (busy || g !== generation) return;
    busy = true;
    try {
      const more = await fn();
      if (g === generation) replace(errorSlot);
      if (more === false) clearInterval(timer);
    } catch (err) {
      if (g === generation) replace(errorSlot, errorBox(err));
    } finally {
      busy = false;
    }
  };
  timer = setInterval(tick, ms);
  timers.push(timer);
  timers.push(setInterval(tick, ms));
  return tick();
}

/** The current hash as a path and its query: "#/runs/x?a=1" → ["runs", "x"], {a: "1"}. */
function currentRoute() {
  const hash = window.location.hash.replace(/^#\/?/, "");
  const q = hash.indexOf("?");
  const path = (q < 0 ? hash : hash.slice(0, q))
    .split("/")
    .filter((p) => p !== "")
    .map(decodeURIComponent);
  return { path, query: new URLSearchParams(q < 0 ? "" : hash.slice(q + 1)) };
}

function go(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

function route() {
  for (const t of timers) clearInterval(t);
  timers = [];
  generation++;
  const { path, query } = currentRoute();
  let name = path[0] || "deployments";
  if (name === "runs" && path.length > 1) name = "run";
  const view = VIEWS[name];
  for (const a of document.querySelectorAll("nav a[data-view]")) {
    a.classList.toggle("active", a.dataset.view === (name === "run" ? "runs" : name));
  }
  if (view === undefined) {
    replace(root, h("h2", {}, "Not found"), h("p", {}, "There is no page " + window.location.hash + "."));
    return;
  }
  const g = generation;
  const container = h("section", { class: "view view-" + name });
  replace(root, container);
  Promise.resolve(view(container, path.slice(1), query, () => g === generation)).catch((err) => {
    if (g === generation) container.append(errorBox(err));
  });
}
`;

/** Starts the router once the views are defined. */
export const START_SCRIPT = `
window.addEventListener("hashchange", route);
route();
`;
