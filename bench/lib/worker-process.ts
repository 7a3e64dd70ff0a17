/**
 * Starts `tokenforge worker` as its own process (from the build in dist/), so that its memory and
 * CPU are its own, and waits for /health.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../src/control/local/free-port.js";

const ROOT = join(import.meta.dirname, "..", "..");

export interface WorkerProcess {
  url: string;
  pid: number;
  health(): Promise<Record<string, unknown>>;
  rssBytes(): number;
  stop(): Promise<void>;
}

export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(status.match(/^VmRSS:\s+(\d+) kB/m)?.[1]);
  return kb * 1024;
}

export async function startWorkerProcess(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<WorkerProcess> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [join(ROOT, "dist", "cli", "tokenforge.js"), "worker", "--port", String(port), "--gpu", "off", ...args],
    { stdio: ["ignore", "inherit", "pipe"], env: { ...process.env, ...env } },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + 600_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`worker exited ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`worker not ready: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid!,
    health: async () => (await (await fetch(`${url}/health`)).json()) as Record<string, unknown>,
    rssBytes: () => rssOf(child.pid!),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
