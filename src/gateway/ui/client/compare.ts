/**
 * The compare view (`#/compare?a=ID&b=ID&threshold=5`): GET /benchmarks/compare shown side by
 * side, one table per workload × runtime, each metric with both values, the change, the noise and
 * the verdict; regressions stand out.
 */
import { api, runHref } from "./api.js";
import { badge, errorBox, fieldValue, h, replace, table } from "./dom.js";
import { ABSENT, fmt, fmtPct, fmtTime } from "./format.js";
import type { View } from "./router.js";
import type { Comparison, RunSummary } from "./types.js";

type Pair = { workload: string; runtime: string };

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

export const compareView: View = async (view, { query, alive, go }) => {
  const a = query.get("a") || "";
  const b = query.get("b") || "";
  const threshold = query.get("threshold") || "5";
  const field = (name: string, value: string, size: number) =>
    h("label", {}, `${name} `, h("input", { name, value, size, required: true }));
  const form = h(
    "form",
    { class: "compare-form" },
    field("a", a, 30),
    field("b", b, 30),
    h(
      "label",
      {},
      "threshold % ",
      h("input", { name: "threshold", value: threshold, size: 4, inputmode: "decimal" }),
    ),
    h("button", { type: "submit" }, "Compare"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const k of ["a", "b", "threshold"]) q.set(k, fieldValue(form, k).trim());
    go(`#/compare?${q.toString()}`);
  });
  const body = h("div", {});
  replace(
    view,
    h("h2", {}, "Compare two runs"),
    h(
      "p",
      { class: "dim" },
      "A is the baseline; a change counts only past the threshold and twice the noise.",
    ),
    form,
    body,
  );
  if (a === "" || b === "") {
    replace(body, h("p", { class: "empty" }, "Pick two runs in the runs list, or give their ids."));
    return;
  }
  replace(body, h("p", { class: "dim" }, "Comparing\u2026"));
  const q = new URLSearchParams({ a, b, threshold });
  let c: Comparison;
  try {
    c = await api<Comparison>("GET", `/benchmarks/compare?${q.toString()}`);
  } catch (err) {
    if (alive()) replace(body, errorBox(err));
    return;
  }
  if (!alive()) return;
  const side = (label: string, r: RunSummary) =>
    h(
      "div",
      { class: "side" },
      h("strong", {}, `${label} `),
      h("a", { href: runHref(r.id), class: "mono" }, r.id),
      " ",
      `${r.model} on ${r.runtimes.join(", ")}, ${fmtTime(r.createdAt)} `,
      badge(r.status),
    );
  const summary = h(
    "p",
    { class: "verdicts" },
    h(
      "span",
      { class: c.regressions > 0 ? "verdict verdict-worse" : "" },
      plural(c.regressions, "regression"),
    ),
    ", ",
    h(
      "span",
      { class: c.improvements > 0 ? "verdict verdict-better" : "" },
      plural(c.improvements, "improvement"),
    ),
    ` (threshold ${c.thresholdPct} %, noise floor ${c.noiseFloorPct} %)`,
  );
  const pairs = c.pairs.map((p) => {
    const rows = p.metrics.map((m) =>
      h(
        "tr",
        { class: `metric metric-${m.verdict.replace(/ /g, "-")}`, "data-key": m.key },
        h("td", { class: "name" }, m.label),
        h(
          "td",
          { class: "name dim" },
          m.unit + (m.better === "lower" ? " (lower is better)" : " (higher is better)"),
        ),
        h("td", { class: "num" }, fmt(m.a)),
        h("td", { class: "num" }, fmt(m.b)),
        h("td", { class: "num" }, fmtPct(m.changePct, true)),
        h("td", { class: "num" }, m.noisePct === undefined ? ABSENT : `\u00b1${fmtPct(m.noisePct, false)}`),
        h("td", { class: `verdict verdict-${m.verdict.replace(/ /g, "-")}` }, m.verdict),
      ),
    );
    return h(
      "section",
      { class: "pair" },
      h("h3", {}, `${p.workload} \u00b7 ${p.runtime}`),
      table(["metric", "unit", "A", "B", "change", "noise", "verdict"], rows, "comparison"),
    );
  });
  const only = (label: string, list: Pair[]) =>
    list.length === 0
      ? null
      : h(
          "p",
          { class: "note" },
          `Only in ${label}: ${list.map((x) => `${x.workload} \u00b7 ${x.runtime}`).join(", ")}`,
        );
  replace(
    body,
    side("A", c.a),
    side("B", c.b),
    summary,
    pairs.length === 0 ? h("p", { class: "empty" }, "The runs share no workload \u00d7 runtime.") : pairs,
    only("A", c.onlyInA),
    only("B", c.onlyInB),
  );
};
