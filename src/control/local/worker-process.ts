/**
 * One worker process: spawned without a shell, in its own process group so that stopping it also
 * stops anything it started (vLLM, for one, runs engine processes of its own), with its stderr
 * kept in a bounded tail.
 */
import { spawn } from "node:child_process";
import type { ProcessSpec } from "../../spec/runtime.js";
import { LineTail } from "./line-tail.js";

/** How a worker process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (e.g. the command does not exist). */
  spawnError?: Error;
}

export interface WorkerProcess {
  /** Undefined when spawning failed. */
  readonly pid: number | undefined;
  readonly tail: LineTail;
  /** Settles once the process has exited and its stderr has been read (or shortly after). */
  readonly exited: Promise<ExitInfo>;
  /** SIGTERM to the group, SIGKILL after `graceMs`, and a final SIGKILL to any stragglers. */
  stop(graceMs: number): Promise<ExitInfo>;
}

// Process groups are a POSIX notion; on Windows only the process itself can be signalled.
const GROUPS = process.platform !== "win32";
// After exit, wait this long at most for the rest of stderr (a grandchild may hold the pipe open).
const STDERR_DRAIN_MS = 250;

/**
 * `env` is added to this process's environment, and the spec's own env to that; `onLine` sees
 * every line the worker writes to stderr.
 */
export function spawnWorker(
  spec: ProcessSpec,
  env: Record<string, string>,
  onLine?: (line: string) => void,
): WorkerProcess {
  const tail = new LineTail(undefined, undefined, onLine);
  const child = spawn(spec.command, spec.args, {
    env: { ...process.env, ...env, ...spec.env },
    stdio: ["ignore", "ignore", "pipe"],
    detached: GROUPS,
    windowsHide: true,
  });
  const pid = child.pid;
  const stderrEnded = new Promise<void>((resolve) => {
    if (!child.stderr) return resolve();
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => tail.push(d));
    child.stderr.once("close", () => resolve());
  });
  let exit: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    const settle = (info: ExitInfo) => {
      if (exit) return;
      exit = info;
      const drained = new Promise<void>((r) => setTimeout(r, STDERR_DRAIN_MS).unref());
      void Promise.race([stderrEnded, drained]).then(() => resolve(info));
    };
    child.once("exit", (code, signal) => settle({ code, signal }));
    // 'error' also reports a failed kill; only a failed spawn (no pid) means the process is gone.
    child.on("error", (err) => {
      if (child.pid === undefined) settle({ code: null, signal: null, spawnError: err });
    });
  });

  const signalGroup = (sig: NodeJS.Signals) => {
    if (pid === undefined) return;
    try {
      process.kill(GROUPS ? -pid : pid, sig);
    } catch (err) {
      // ESRCH: nothing left in the group. Anything else: fall back to the process itself.
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") child.kill(sig);
    }
  };

  return {
    pid,
    tail,
    exited,
    async stop(graceMs) {
      if (!exit) {
        signalGroup("SIGTERM");
        const timer = setTimeout(() => signalGroup("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      }
      // The leader is gone; anything it started and left behind goes too.
      signalGroup("SIGKILL");
      return exited;
    },
  };
}

/** "exit code 3", "signal SIGKILL", or why it never started. */
export function describeExit(exit: ExitInfo): string {
  if (exit.spawnError) return `could not start: ${exit.spawnError.message}`;
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exit code ${exit.code}`;
}
