/**
 * The deployments view (`#/deployments`): a form that deploys a model (POST /deploy; a refusal
 * shows the gateway's reason), and every deployment with its status, endpoints and last error,
 * refreshed every few seconds, each with a delete button that asks first.
 */
import { api, enc } from "./api.js";
import { badge, errorBox, fieldValue, h, replace, table } from "./dom.js";
import { ABSENT } from "./format.js";
import type { View } from "./router.js";
import type { Deployment } from "./types.js";

const DEPLOYMENTS_REFRESH_MS = 3000;
/** Runtimes offered in the form's list (any name can be typed; the gateway names the known ones). */
const RUNTIME_HINTS = ["llamacpp", "sim", "vllm", "transformers"];

export const deploymentsView: View = async (view, { every }) => {
  const errors = h("div", { class: "errors" });
  const updated = h("span", { class: "dim" });
  const body = h("div", { class: "deployments" });
  const deployErrors = h("div", { class: "errors", "aria-live": "polite" });
  const deployed = h("span", { class: "dim", "aria-live": "polite" });
  const field = (label: string, input: HTMLElement) => h("label", {}, h("span", {}, label), " ", input);
  const submit = h("button", { type: "submit" }, "Deploy");
  const form = h(
    "form",
    { class: "deploy" },
    field("model", h("input", { name: "model", required: true, placeholder: "synthetic:tiny", size: 24 })),
    field(
      "runtime",
      h("input", { name: "runtime", required: true, list: "runtime-hints", value: "llamacpp", size: 12 }),
    ),
    h(
      "datalist",
      { id: "runtime-hints" },
      RUNTIME_HINTS.map((r) => h("option", { value: r })),
    ),
    field("replicas", h("input", { name: "replicas", type: "number", min: 1, value: 1, size: 4 })),
    field("quant", h("input", { name: "quant", placeholder: "default", size: 8 })),
    field(
      "target",
      h(
        "select",
        { name: "target" },
        h("option", { value: "local" }, "local"),
        h("option", { value: "kubernetes" }, "kubernetes"),
      ),
    ),
    submit,
    " ",
    deployed,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = (k: string) => fieldValue(form, k).trim();
    const request: Record<string, unknown> = {
      model: f("model"),
      runtime: f("runtime"),
      target: f("target"),
    };
    const replicas = Number(f("replicas"));
    // Not a whole number: sent as typed, for the gateway to name the field.
    request.replicas = Number.isInteger(replicas) && f("replicas") !== "" ? replicas : f("replicas");
    if (f("quant") !== "") request.quant = f("quant");
    submit.disabled = true;
    replace(deployErrors);
    replace(deployed);
    try {
      const d = await api<{ id: string; status: string }>("POST", "/deploy", request);
      replace(deployed, `deployed ${d.id} (${d.status})`);
      await refresh();
    } catch (err) {
      replace(deployErrors, errorBox(err));
    } finally {
      submit.disabled = false;
    }
  });
  replace(
    view,
    h("h2", {}, "Deployments ", updated),
    h("h3", {}, "Deploy a model"),
    form,
    deployErrors,
    errors,
    body,
    h(
      "p",
      { class: "dim" },
      `Also POST /deploy or tokenforge deploy; the list refreshes every ${DEPLOYMENTS_REFRESH_MS / 1000} s.`,
    ),
  );

  async function remove(d: Deployment) {
    if (!window.confirm(`Delete the deployment ${d.id} (${d.model} on ${d.runtime})?`)) return;
    try {
      await api("DELETE", `/deployments/${enc(d.id)}`);
      await refresh();
    } catch (err) {
      replace(errors, errorBox(err));
    }
  }

  async function refresh() {
    const list = await api<Deployment[]>("GET", "/deployments");
    replace(updated, `updated ${new Date().toLocaleTimeString()}`);
    if (list.length === 0) {
      replace(body, h("p", { class: "empty" }, "No deployments."));
      return;
    }
    const rows = list.map((d) =>
      h(
        "tr",
        { "data-id": d.id },
        h("td", { class: "mono" }, d.id),
        h("td", {}, d.model),
        h("td", {}, d.runtime, d.quant ? h("span", { class: "dim" }, ` ${d.quant}`) : null),
        h("td", {}, d.target),
        h("td", { class: "num" }, d.replicas),
        h("td", { class: "deployment-status" }, badge(d.status)),
        h(
          "td",
          { class: "mono" },
          d.endpoints.length === 0 ? ABSENT : d.endpoints.map((e) => h("div", {}, e)),
        ),
        h("td", { class: "last-error" }, d.last_error || ""),
        h("td", {}, h("button", { type: "button", class: "danger", onclick: () => remove(d) }, "Delete")),
      ),
    );
    replace(
      body,
      table(
        ["id", "model", "runtime", "target", "replicas", "status", "endpoints", "last error", ""],
        rows,
        "deployments",
      ),
    );
  }

  await every(DEPLOYMENTS_REFRESH_MS, refresh, errors);
};
