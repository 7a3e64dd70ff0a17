/**
 * Starts a runtime's worker as a child process on a free port and waits until its `/health`
 * answers 200, so the harness measures a server with its own CPU and memory rather than one
 * sharing the client's event loop.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { request } from "undici";
import { freePort } from "../control/local/free-port.js";
import { TokenForgeError } from "../errors.js";
import type { RuntimeDefinition } from "../spec/runtime.js";

export interface LocalTarget {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startLocalTarget(
  runtime: RuntimeDefinition,
  model: string,
  opts: { extraArgs?: string[]; onLog?: (line: string) => void; readyTimeoutMs?: number } = {},
): Promise<LocalTarget> {
  const host = "127.0.0.1";
  const port = await freePort(host);
  const spec = runtime.localProcess({ model, port, host, extraArgs: opts.extraArgs ?? [] });
  const child: ChildProcess = spawn(spec.command, spec.args, {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...spec.env },
  });
  // A command that cannot be started at all (not installed) is the config's problem: the runtime
  // needs a target instead.
  let spawnError: NodeJS.ErrnoException | undefined;
  child.once("error", (err: NodeJS.ErrnoException) => {
    spawnError = err;
  });
  let tail = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => {
    tail = (tail + d).slice(-4000);
    for (const line of d.split(/[\r\n]+/)) if (line.trim() !== "") opts.onLog?.(line);
  });
  const url = `http://${host}:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = performance.now() + (opts.readyTimeoutMs ?? 600_000);
  for (;;) {
    if (spawnError !== undefined) {
      throw new TokenForgeError(
        "invalid_request",
        `cannot start a local ${runtime.name} worker (${spec.command}: ${spawnError.code ?? spawnError.message}): set targets.${runtime.name} to the URL of a running server`,
        { field: `targets.${runtime.name}` },
      );
    }
    if (child.exitCode !== null) {
      throw new TokenForgeError(
        "engine_error",
        `the ${runtime.name} worker exited (${child.exitCode}): ${tail.trim()}`,
      );
    }
    try {
      const res = await request(`${url}/health`, { headersTimeout: 2000, bodyTimeout: 2000 });
      await res.body.dump();
      if (res.statusCode === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) {
      await stop();
      throw new TokenForgeError(
        "engine_error",
        `the ${runtime.name} worker was not ready in time: ${tail.trim()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, pid: child.pid ?? 0, stop };
}
