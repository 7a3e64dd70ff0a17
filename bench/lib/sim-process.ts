/** Starts the simulated OpenAI server (from the build in dist/) as its own process. */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";

const ROOT = join(import.meta.dirname, "..", "..");

export interface SimProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startSimProcess(args: string[]): Promise<SimProcess> {
  const child = spawn(process.execPath, [join(ROOT, "dist", "runtimes", "sim", "main.js"), ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`sim server exited ${code}`)));
    createInterface({ input: child.stdout }).once("line", resolve);
  });
  const url = (JSON.parse(line) as { url: string }).url;
  return {
    url,
    pid: child.pid ?? 0,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
