/**
 * The deployments view (`#/deployments`): every deployment with its status and endpoints,
 * refreshed every few seconds, each with a delete button that asks first.
 */
import { api, enc } from "./api.js";
import { badge, errorBox, h, replace, table } from "./dom.js";
import { ABSENT } from "./format.js";
import type { View } from "./router.js";
import type { Deployment } from "./types.js";

const DEPLOYMENTS_REFRESH_MS = 3000;

export const deploymentsView: View = async (view, { every }) => {
  const errors = h("div", { class: "errors" });
  const updated = h("span", { class: "dim" });
  const body = h("div", { class: "deployments" });
  replace(
    view,
    h("h2", {}, "Deployments ", updated),
    errors,
    body,
    h(
      "p",
      { class: "dim" },
      `Deploy with POST /deploy or tokenforge deploy; the list refreshes every ${DEPLOYMENTS_REFRESH_MS / 1000} s.`,
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
