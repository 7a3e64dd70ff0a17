/** A tolerant reader of the Prometheus text exposition format. */

/** One sample line of the exposition format. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseValue(s: string): number {
  switch (s) {
    case "+Inf":
    case "Inf":
      return Number.POSITIVE_INFINITY;
    case "-Inf":
      return Number.NEGATIVE_INFINITY;
    case "NaN":
      return Number.NaN;
    default:
      return s === "" ? Number.NaN : Number(s);
  }
}

/**
 * A tolerant parser of the Prometheus text format: `name{label="v",...} value [timestamp]` lines;
 * comments, blank lines and lines it cannot read are skipped.
 */
export function parsePrometheusText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const rawLine of text.split("\n")) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    let i = 0;
    while (i < line.length && line[i] !== "{" && line[i] !== " " && line[i] !== "\t") i++;
    const name = line.slice(0, i);
    if (name === "") continue;
    const labels: Record<string, string> = {};
    if (line[i] === "{") {
      i++;
      let ok = false;
      while (i < line.length) {
        while (line[i] === " " || line[i] === ",") i++;
        if (line[i] === "}") {
          i++;
          ok = true;
          break;
        }
        const eq = line.indexOf("=", i);
        if (eq < 0 || line[eq + 1] !== '"') break;
        const key = line.slice(i, eq).trim();
        let j = eq + 2;
        let value = "";
        while (j < line.length && line[j] !== '"') {
          if (line[j] === "\\" && j + 1 < line.length) {
            const c = line[j + 1];
            value += c === "n" ? "\n" : c;
            j += 2;
          } else value += line[j++];
        }
        if (j >= line.length) break;
        labels[key] = value;
        i = j + 1;
      }
      if (!ok) continue;
    }
    const value = parseValue(line.slice(i).trim().split(/\s+/)[0] ?? "");
    if (Number.isNaN(value) && !/^\s*NaN/.test(line.slice(i))) continue;
    out.push({ name, labels, value });
  }
  return out;
}
