/**
 * The run view (`#/runs/<id>`): status, progress while it runs (polled), the key figures of every
 * workload × runtime, the artifacts, and the run's own HTML report in a sandboxed frame (scripts
 * allowed for its charts, no access to this page or the API).
 */
import { api, apiKey, artifactHref, artifactUrl, enc } from "./api.js";
import { badge, type Child, errorBox, h, replace, table } from "./dom.js";
import { ABSENT, duration, fmt, fmtTime } from "./format.js";
import type { View } from "./router.js";
import type { Progress, Run, RunResult, Summary } from "./types.js";

const RUN_POLL_MS = 1000;

function resultsTable(results: RunResult[]) {
  const pair = (s: Summary | undefined, k: keyof Summary) => (s ? fmt(s[k]) : ABSENT);
  const rows = results.map((r) => {
    const m = r.metrics || {};
    const c = m.counts || {};
    return h(
      "tr",
      {},
      h("td", { class: "name" }, r.workload),
      h("td", { class: "name" }, r.runtime),
      h("td", { class: "num" }, `${c.ok ?? ABSENT} / ${c.errored ?? ABSENT} / ${c.incomplete ?? ABSENT}`),
      h("td", { class: "num" }, pair(m.ttftMs, "p50")),
      h("td", { class: "num" }, pair(m.ttftMs, "p99")),
      h("td", { class: "num" }, pair(m.tpotMs, "p50")),
      h("td", { class: "num" }, pair(m.tpotMs, "p99")),
      h("td", { class: "num" }, fmt(m.requestThroughput)),
      h("td", { class: "num" }, fmt(m.outputTokenThroughput)),
    );
  });
  return table(
    [
      "workload",
      "runtime",
      "ok / errored / incomplete",
      "TTFT p50 ms",
      "TTFT p99 ms",
      "TPOT p50 ms",
      "TPOT p99 ms",
      "req/s",
      "output tok/s",
    ],
    rows,
    "results",
  );
}

function progressBlock(p: Progress) {
  return h(
    "div",
    { class: "progress" },
    h("div", {}, `${p.workload} on ${p.runtime}: ${p.phase} ${p.done} / ${p.total}`),
    h("progress", { max: String(Math.max(1, p.total)), value: String(p.done) }),
    h(
      "div",
      { class: "dim" },
      `${p.inFlight} in flight, ${p.errors} errors, ${fmt(p.achievedRate)} req/s sent, TTFT p50 ${fmt(p.ttftP50Ms)} ms`,
    ),
  );
}

export const runView: View = async (view, { params, every }) => {
  const id = params[0]!;
  const errors = h("div", { class: "errors" });
  const actionErrors = h("div", { class: "errors" });
  const body = h("div", {});
  replace(view, h("h2", {}, "Run ", h("span", { class: "mono" }, id)), errors, actionErrors, body);

  async function cancel() {
    try {
      await api("POST", `/benchmarks/${enc(id)}/cancel`);
      replace(actionErrors);
    } catch (err) {
      replace(actionErrors, errorBox(err));
    }
  }

  function draw(run: Run): boolean {
    const active = run.status === "queued" || run.status === "running";
    const item = (k: string, v: Child) => h("div", {}, h("dt", {}, k), h("dd", {}, v));
    const meta = h(
      "dl",
      { class: "meta" },
      item("status", badge(run.status)),
      item("model", run.model),
      item("runtimes", run.runtimes.join(", ")),
      item("seed", String(run.seed)),
      item("created", fmtTime(run.createdAt)),
      item("started", fmtTime(run.startedAt)),
      item("finished", fmtTime(run.finishedAt)),
      item("duration", duration(run)),
    );
    const artifacts = run.artifacts || [];
    const report = artifacts.find((a) => a.name === "report.html");
    replace(
      body,
      meta,
      run.error ? h("div", { class: "error" }, h("p", {}, run.error)) : null,
      active && run.progress ? progressBlock(run.progress) : null,
      active ? h("button", { type: "button", class: "danger", onclick: cancel }, "Cancel run") : null,
      h("h3", {}, "Results"),
      run.results.length > 0
        ? resultsTable(run.results)
        : h("p", { class: "empty" }, active ? "Not yet." : "No results."),
      h("h3", {}, "Artifacts"),
      artifacts.length > 0
        ? h(
            "ul",
            { class: "artifacts" },
            artifacts.map((a) =>
              h(
                "li",
                {},
                h("a", { href: artifactHref(id, a.name), onclick: openWithKey(id, a.name) }, a.name),
                h("span", { class: "dim" }, ` ${fmt(a.bytes / 1024)} KiB`),
              ),
            ),
          )
        : h("p", { class: "empty" }, active ? "Not yet." : "None."),
      report
        ? [
            h(
              "h3",
              {},
              "Report ",
              h(
                "a",
                {
                  href: artifactHref(id, "report.html"),
                  target: "_blank",
                  rel: "noopener",
                  onclick: openWithKey(id, "report.html"),
                },
                "open alone",
              ),
            ),
            reportFrame(id),
          ]
        : null,
    );
    return active;
  }

  // Polls while the run is queued or running; the last drawing (with the report) stays.
  await every(RUN_POLL_MS, async () => draw(await api<Run>("GET", `/benchmarks/${enc(id)}`)), errors);
};

/** The report in a sandboxed frame; with an API key, its bytes are fetched with the key first. */
function reportFrame(id: string): HTMLIFrameElement {
  const keyed = apiKey() !== undefined;
  const frame = h("iframe", {
    class: "report",
    src: keyed ? undefined : artifactHref(id, "report.html"),
    sandbox: "allow-scripts",
    title: "benchmark report",
  });
  if (keyed)
    void artifactUrl(id, "report.html").then(
      (url) => {
        frame.src = url;
      },
      () => {},
    );
  return frame;
}

/** A link's click while the tab has a key: a plain link would go without it, so fetch, then open. */
function openWithKey(id: string, name: string): (e: Event) => void {
  return (e) => {
    if (apiKey() === undefined) return;
    e.preventDefault();
    void artifactUrl(id, name).then(
      (url) => {
        const a = document.createElement("a");
        a.href = url;
        a.download = name.split("/").pop() ?? name;
        a.click();
      },
      () => {},
    );
  };
}
