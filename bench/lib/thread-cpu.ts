/** CPU time per thread of this process, from /proc (Linux), to see where a client's CPU goes. */
import { readdirSync, readFileSync } from "node:fs";

const TICK_MS = 10; // USER_HZ is 100 on Linux

export function threadCpuMs(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const name = stat.slice(stat.indexOf("(") + 1, close);
      const fields = stat.slice(close + 2).split(" ");
      const ms = (Number(fields[11]) + Number(fields[12])) * TICK_MS;
      out.set(`${name}#${tid}`, ms);
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** Per thread name (threads of one kind summed): CPU ms spent between two snapshots. */
export function threadCpuDelta(
  before: Map<string, number>,
  after: Map<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, ms] of after) {
    const name = key.slice(0, key.lastIndexOf("#"));
    out[name] = (out[name] ?? 0) + ms - (before.get(key) ?? 0);
  }
  return out;
}
