/**
 * The report's own script, run in the browser after Chart.js: it reads the chart specs from the
 * embedded JSON (`<script type="application/json" id="report-data">`) and draws each on its
 * canvas. Plain ES2020 with no imports; kept as text because it never runs in Node.
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
    new Chart(canvas, {
      type: bar ? "bar" : "line",
      data: bar ? { labels: spec.categories, datasets } : { datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "nearest", intersect: false },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 14 } } },
        scales: { x, y },
      },
    });
    drawn++;
  }
  document.documentElement.setAttribute("data-charts-drawn", String(drawn));
})();
`;
