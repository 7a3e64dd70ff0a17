/**
 * The chart library the report inlines: Chart.js's prebuilt UMD bundle, read from node_modules at
 * run time (it is a runtime dependency), so a report needs no network to draw.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export interface ChartLibrary {
  name: string;
  version: string;
  /** The bundle's text, safe to put between `<script>` and `</script>`. */
  js: string;
}

/** Makes script text safe inside an inline `<script>`: no end tag, no comment opener, no source map. */
export function inlineScript(js: string): string {
  return js
    .replace(/^\/\/# sourceMappingURL=.*$/gm, "")
    .replace(/<\/(script)/gi, "<\\/$1")
    .replace(/<!--/g, "<\\!--");
}

/** Loads Chart.js's UMD bundle (which defines `window.Chart`) and its version. */
export function chartLibrary(): ChartLibrary {
  const require = createRequire(import.meta.url);
  // The package exports only its module entries; the UMD bundle sits beside them in dist/.
  const dist = dirname(require.resolve("chart.js"));
  const js = readFileSync(join(dist, "chart.umd.min.js"), "utf8");
  const pkg = JSON.parse(readFileSync(join(dist, "..", "package.json"), "utf8")) as { version: string };
  return { name: "Chart.js", version: pkg.version, js: inlineScript(js) };
}
