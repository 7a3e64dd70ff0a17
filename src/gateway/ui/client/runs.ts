/**
 * The runs view (`#/runs?model=&runtime=&status=`): the runs newest first, filtered in the query
 * (the same filters as GET /benchmarks), refreshed every few seconds; two runs picked with their
 * checkboxes open the compare view, the older one as the baseline.
 */
import { api, enc, runHref } from "./api.js";
import { badge, fieldValue, h, replace, table } from "./dom.js";
import { duration, fmtTime } from "./format.js";
import type { View } from "./router.js";
import type { RunSummary } from "./types.js";

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
        h("td", { class: "last-error" }, r.error || ""),
      );
    });
    replace(
      body,
      table(["", "id", "model", "runtimes", "status", "created", "duration", "error"], rows, "runs"),
    );
  }

  await every(RUNS_REFRESH_MS, refresh, errors);
};
