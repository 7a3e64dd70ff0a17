/**
 * An HTTP inference server started as its own process pinned to chosen CPU cores (`taskset`), with
 * what /proc says about it: CPU seconds used, resident and peak resident memory.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { freePort } from "../../src/control/local/free-port.js";

const TICKS_PER_S = 100; // USER_HZ on Linux

export interface PinnedServer {
  name: string;
  url: string;
  pid: number;
  /** User + system CPU seconds of every thread of the process so far. */
  cpuSeconds(): number;
  rssBytes(): number;
  /** The process's peak resident set so far (VmHWM). */
  peakRssBytes(): number;
  stop(): Promise<void>;
}

export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime: fields 14 and 15 of stat, 12 and 13 after the command name.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

function statusKb(pid: number, key: string): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"))?.[1] ?? Number.NaN);
}

export function hasTaskset(): boolean {
  return spawnSync("sh", ["-c", "command -v taskset"]).status === 0;
}

/** Pins this process (every thread, and the threads it starts later) to `cpus` ("1", "0-1"). */
export function pinSelf(cpus: string): void {
  spawnSync("taskset", ["-a", "-p", "-c", cpus, String(process.pid)], { stdio: "ignore" });
}

/**
 * Starts `command args…` under `taskset -c cpus` with `--port <free port>` appended by `portArgs`,
 * and waits until `healthPath` answers 200.
 */
export async function startPinnedServer(opts: {
  name: string;
  cpus: string;
  command: string;
  args: (port: number) => string[];
  healthPath: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}): Promise<PinnedServer> {
  const port = await freePort();
  const child: ChildProcess = spawn("taskset", ["-c", opts.cpus, opts.command, ...opts.args(port)], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...opts.env },
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8000);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + (opts.timeoutMs ?? 600_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${opts.name} exited (${child.exitCode ?? child.signalCode}): ${stderr}`);
    }
    try {
      const res = await fetch(`${url}${opts.healthPath}`);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`${opts.name} not ready: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // taskset execs the command, so the child's pid is the server's.
  const pid = child.pid!;
  return {
    name: opts.name,
    url,
    pid,
    cpuSeconds: () => cpuSecondsOf(pid),
    rssBytes: () => statusKb(pid, "VmRSS") * 1024,
    peakRssBytes: () => statusKb(pid, "VmHWM") * 1024,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
        child.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}
