/**
 * The report's own script, run in the browser after Chart.js: it reads the chart specs from the
 * embedded JSON (`<script type="application/json" id="report-data">`) and draws each on its
 * canvas. Plain ES2020 with no imports; kept as text because it never runs in Node.
 *
 * Legends are HTML lists below each canvas, not Chart.js's canvas legend: the page lays them out,
 * so a colour box and its text sit side by side and wrap as one item, never drawn over each other
 * (test/browser/report.test.ts measures them). Clicking an item hides or shows its series.
 */
export const CLIENT_SCRIPT = `(() => {
  "use strict";
  const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];
  const source = document.getElementById("report-data");
  const data = JSON.parse(source.textContent);
  const Chart = window.Chart;
  if (typeof Chart !== "function") throw new Error("the chart library did not load");
  Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', sans-serif";
  Chart.defaults.color = "#333";
  let drawn = 0;
  const legendFor = (chart, spec, canvas) => {
    const list = document.createElement("ul");
    list.className = "legend";
    list.style.cssText = "display:flex;flex-wrap:wrap;gap:4px 16px;list-style:none;margin:4px 0 0;padding:0;font-size:12px;line-height:16px";
    spec.series.forEach((s, i) => {
      const color = PALETTE[s.color % PALETTE.length];
      const item = document.createElement("li");
      item.style.cssText = "display:flex;align-items:center;gap:6px;cursor:pointer;user-select:none";
      const swatch = document.createElement("span");
      swatch.className = "legend-box";
      swatch.style.cssText = "flex:none;box-sizing:border-box;width:16px;height:10px;" +
        (s.dashed ? "border-top:3px dashed " + color + ";height:3px" : "background:" + color);
      const label = document.createElement("span");
      label.className = "legend-text";
      label.textContent = s.label;
      item.append(swatch, label);
      item.addEventListener("click", () => {
        const shown = chart.isDatasetVisible(i);
        chart.setDatasetVisibility(i, !shown);
        item.style.opacity = shown ? "0.4" : "1";
        chart.update();
      });
      list.append(item);
    });
    canvas.parentElement.after(list);
  };
  for (const spec of data.charts) {
    const canvas = document.getElementById(spec.id);
    if (canvas === null) continue;
    const bar = spec.kind === "bar";
    const datasets = spec.series.map((s) => {
      const color = PALETTE[s.color % PALETTE.length];
      return {
        label: s.label,
        data: s.x === undefined ? s.y : s.x.map((x, i) => ({ x, y: s.y[i] })),
        borderColor: color,
        backgroundColor: bar ? color + "cc" : color,
        borderWidth: bar ? 0 : 1.5,
        borderDash: s.dashed ? [6, 4] : [],
        pointRadius: s.points ? 3 : 0,
        pointHoverRadius: 4,
        stepped: s.stepped ? "before" : false,
        // Markers on the plot's edge stay whole.
        clip: s.points ? false : undefined,
      };
    });
    const axisTitle = (text) => ({ display: true, text });
    const y = { title: axisTitle(spec.yTitle), beginAtZero: true };
    if (spec.yMax !== undefined) y.max = spec.yMax;
    const x = bar ? { title: axisTitle(spec.xTitle) } : { type: "linear", title: axisTitle(spec.xTitle) };
    if (spec.xMin !== undefined) x.min = spec.xMin;
    const chart = new Chart(canvas, {
      type: bar ? "bar" : "line",
      data: bar ? { labels: spec.categories, datasets } : { datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "nearest", intersect: false },
        plugins: { legend: { display: false } },
        scales: { x, y },
      },
    });
    legendFor(chart, spec, canvas);
    drawn++;
  }
  document.documentElement.setAttribute("data-charts-drawn", String(drawn));
})();
`;
