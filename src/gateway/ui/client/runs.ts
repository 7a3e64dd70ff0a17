/**
 * The runs view (`#/runs?model=&runtime=&status=`): the runs newest first, filtered in the query
 * (the same filters as GET /benchmarks), refreshed every few seconds, each finished run with its
 * key figures (read once from GET /benchmarks/<id>: a finished run does not change); two runs
 * picked with their checkboxes open the compare view, the older one as the baseline.
 */
import { api, enc, runHref } from "./api.js";
import { badge, fieldValue, h, replace, table } from "./dom.js";
import { duration, fmt, fmtTime } from "./format.js";
import type { View } from "./router.js";
import type { Run, RunSummary } from "./types.js";

/** One line of a finished run's figures: its best output throughput, with that result's TTFT. */
export function keyFigures(run: Run): string {
  const results = run.results ?? [];
  if (results.length === 0) return "no results";
  let ok = 0;
  let total = 0;
  for (const r of results) {
    const c = r.metrics?.counts ?? {};
    ok += c.ok ?? 0;
    total += (c.ok ?? 0) + (c.errored ?? 0) + (c.incomplete ?? 0);
  }
  const best = [...results].sort(
    (a, b) => (b.metrics?.outputTokenThroughput ?? -1) - (a.metrics?.outputTokenThroughput ?? -1),
  )[0]!;
  const m = best.metrics ?? {};
  const more = results.length > 1 ? ` (best of ${results.length}: ${best.workload} on ${best.runtime})` : "";
  return (
    `${fmt(m.outputTokenThroughput)} out tok/s · TTFT p50 ${fmt(m.ttftMs?.p50)} ms · ` +
    `${fmt(m.requestThroughput)} req/s · ${ok}/${total} ok${more}`
  );
}

const RUNS_REFRESH_MS = 2000;
const RUN_STATUSES = ["queued", "running", "complete", "incomplete", "failed", "cancelled", "interrupted"];
const FILTERS = ["model", "runtime", "status"];

export const runsView: View = async (view, { query, every, go }) => {
  const filter: Record<string, string> = {};
  for (const k of FILTERS) {
    const v = query.get(k);
    if (v) filter[k] = v;
  }
  const picked = new Map<string, RunSummary>();
  /** Key-figure cells of finished runs, by id: each fetched once and kept across refreshes. */
  const figures = new Map<string, HTMLTableCellElement>();
  function figuresCell(r: RunSummary): HTMLTableCellElement {
    if (r.status === "queued" || r.status === "running") return h("td", { class: "figures dim" }, r.status);
    const known = figures.get(r.id);
    if (known !== undefined) return known;
    const cell = h("td", { class: "figures dim" }, "…");
    figures.set(r.id, cell);
    api<Run>("GET", `/benchmarks/${enc(r.id)}`).then(
      (run) => {
        cell.className = "figures";
        replace(cell, keyFigures(run));
      },
      (err: unknown) => {
        // Kept off the cache: the next refresh asks again.
        figures.delete(r.id);
        cell.className = "figures error-text";
        replace(cell, `figures unavailable: ${(err as Error)?.message ?? String(err)}`);
      },
    );
    return cell;
  }
  const errors = h("div", { class: "errors" });
  const body = h("div", { class: "runs" });
  const compare = h("button", { type: "button", disabled: true, class: "compare" }, "Compare");
  const pickedNote = h("span", { class: "dim" }, "pick two runs to compare");

  const input = (name: string, placeholder: string) =>
    h("label", {}, `${name} `, h("input", { name, placeholder, value: filter[name] || "", size: 16 }));
  const form = h(
    "form",
    { class: "filters" },
    input("model", "any model"),
    input("runtime", "any runtime"),
    h(
      "label",
      {},
      "status ",
      h(
        "select",
        { name: "status" },
        h("option", { value: "" }, "any"),
        RUN_STATUSES.map((s) => h("option", { value: s, selected: filter.status === s }, s)),
      ),
    ),
    h("button", { type: "submit" }, "Filter"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const k of FILTERS) {
      const v = fieldValue(form, k).trim();
      if (v !== "") q.set(k, v);
    }
    const s = q.toString();
    go(`#/runs${s === "" ? "" : `?${s}`}`);
  });

  function updateCompare() {
    compare.disabled = picked.size !== 2;
    replace(pickedNote, picked.size === 2 ? "" : `pick two runs to compare (${picked.size} picked)`);
  }
  compare.addEventListener("click", () => {
    const [a, b] = [...picked.values()].sort((x, y) =>
      String(x.createdAt).localeCompare(String(y.createdAt)),
    );
    go(`#/compare?a=${enc(a!.id)}&b=${enc(b!.id)}`);
  });

  replace(
    view,
    h("h2", {}, "Benchmark runs"),
    form,
    errors,
    body,
    h("div", { class: "actions" }, compare, " ", pickedNote, " ", h("a", { href: "#/new" }, "Start a run")),
  );

  async function refresh() {
    const q = new URLSearchParams(filter).toString();
    const runs = await api<RunSummary[]>("GET", `/benchmarks${q === "" ? "" : `?${q}`}`);
    for (const id of [...picked.keys()]) if (!runs.some((r) => r.id === id)) picked.delete(id);
    updateCompare();
    if (runs.length === 0) {
      replace(body, h("p", { class: "empty" }, `No runs${q === "" ? "." : " match the filter."}`));
      return;
    }
    const rows = runs.map((r) => {
      const box = h("input", { type: "checkbox", checked: picked.has(r.id), "aria-label": `pick ${r.id}` });
      box.addEventListener("change", () => {
        if (box.checked) picked.set(r.id, r);
        else picked.delete(r.id);
        updateCompare();
      });
      return h(
        "tr",
        { "data-id": r.id, "data-status": r.status },
        h("td", {}, box),
        h("td", { class: "mono" }, h("a", { href: runHref(r.id) }, r.id)),
        h("td", {}, r.model),
        h("td", {}, r.runtimes.join(", ")),
        h("td", { class: "run-status" }, badge(r.status)),
        h("td", {}, fmtTime(r.createdAt)),
        h("td", { class: "num" }, duration(r)),
        figuresCell(r),
        h("td", { class: "last-error" }, r.error || ""),
      );
    });
    replace(
      body,
      table(
        ["", "id", "model", "runtimes", "status", "created", "duration", "key figures", "error"],
        rows,
        "runs",
      ),
    );
  }

  await every(RUNS_REFRESH_MS, refresh, errors);
};
