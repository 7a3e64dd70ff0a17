/**
 * The new-run view (`#/new`): a form for one workload, or a whole config pasted as YAML or JSON
 * (YAML is read by the gateway at POST /ui/config), sent to POST /benchmarks/run. A refused config
 * shows the gateway's message with every problem listed; an accepted one opens the new run.
 */
import { api, runHref } from "./api.js";
import { type Attrs, errorBox, fieldValue, h, replace } from "./dom.js";
import type { View } from "./router.js";

/** A number as typed; text that is no number is sent as it is, for the gateway to name. */
function numberField(v: string): number | string | undefined {
  const t = String(v).trim();
  if (t === "") return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

const EXAMPLE = [
  "model: synthetic:tiny",
  "runtimes: [llamacpp]",
  "workloads:",
  "  - name: w",
  "    qps: 4",
  "    num_requests: 40",
  "    prompt_len: 64",
  "    gen_tokens: 32",
].join("\n");

export const newRunView: View = async (view, { go }) => {
  const errors = h("div", { class: "errors", "aria-live": "polite" });
  const field = (label: string, name: string, attrs?: Attrs) =>
    h("label", {}, h("span", {}, label), h("input", { name, ...attrs }));
  const mode = h(
    "select",
    { name: "mode", "aria-label": "load kind" },
    h("option", { value: "qps" }, "requests/s (qps)"),
    h("option", { value: "concurrency" }, "concurrency"),
  );
  const rate = h("input", {
    name: "rate",
    value: "4",
    size: 6,
    inputmode: "decimal",
    "aria-label": "qps or concurrency",
  });
  const form = h(
    "form",
    { class: "new-run" },
    field("model", "model", { required: true, placeholder: "synthetic:tiny", size: 40 }),
    field("runtimes (comma-separated)", "runtimes", {
      required: true,
      placeholder: "llamacpp, vllm",
      size: 40,
    }),
    h(
      "fieldset",
      {},
      h("legend", {}, "workload"),
      field("name", "name", { value: "ui", size: 20 }),
      h("label", {}, h("span", {}, "load"), h("span", { class: "inline" }, mode, rate)),
      field("requests", "num_requests", { value: "40", size: 6, inputmode: "numeric" }),
      field("prompt tokens", "prompt_len", { value: "64", size: 6, inputmode: "numeric" }),
      field("output tokens", "gen_tokens", { value: "32", size: 6, inputmode: "numeric" }),
    ),
    h("button", { type: "submit" }, "Start run"),
  );
  const raw = h("textarea", {
    name: "config",
    rows: 14,
    cols: 80,
    spellcheck: "false",
    placeholder: EXAMPLE,
  });
  const rawForm = h(
    "form",
    { class: "raw-config" },
    raw,
    h("div", {}, h("button", { type: "submit" }, "Start run from config")),
  );
  replace(
    view,
    h("h2", {}, "Start a benchmark run"),
    errors,
    form,
    h("details", {}, h("summary", {}, "Or paste a whole config (YAML or JSON)"), rawForm),
  );

  async function start(body: unknown) {
    const buttons = view.querySelectorAll("button");
    for (const b of buttons) b.disabled = true;
    replace(errors);
    try {
      const run = await api<{ id: string }>("POST", "/benchmarks/run", body);
      go(runHref(run.id));
    } catch (err) {
      replace(errors, errorBox(err));
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const f = (k: string) => fieldValue(form, k);
    const workload: Record<string, string | number> = { name: f("name").trim() };
    const load = numberField(f("rate"));
    if (load !== undefined) workload[f("mode")] = load;
    for (const k of ["num_requests", "prompt_len", "gen_tokens"]) {
      const v = numberField(f(k));
      if (v !== undefined) workload[k] = v;
    }
    const runtimes = f("runtimes")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    start({ model: f("model").trim(), runtimes, workloads: [workload] });
  });

  rawForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    replace(errors);
    let body: unknown;
    try {
      body = await api("POST", "/ui/config", raw.value, "text/plain");
    } catch (err) {
      replace(errors, errorBox(err));
      return;
    }
    await start(body);
  });
};
