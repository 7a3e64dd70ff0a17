/** A one-line progress display on stderr for long writes (model synthesis). */
export function byteProgress(label: string, stream: NodeJS.WriteStream = process.stderr) {
  const t0 = performance.now();
  let lastDraw = 0;
  return (written: number, total: number) => {
    const now = performance.now();
    if (written < total && now - lastDraw < 200) return;
    lastDraw = now;
    const mb = written / 1e6;
    const rate = mb / Math.max((now - t0) / 1000, 1e-3);
    const pct = total > 0 ? ((100 * written) / total).toFixed(1) : "?";
    const line = `${label}: ${pct}% (${mb.toFixed(1)} / ${(total / 1e6).toFixed(1)} MB, ${rate.toFixed(0)} MB/s)`;
    if (stream.isTTY) stream.write(`\r${line}${written >= total ? "\n" : ""}`);
    else if (written >= total || now - t0 > 2000) stream.write(`${line}\n`);
  };
}
