/**
 * One worker process: the runtime's command spawned without a shell, in its own process group so
 * that stopping it also stops anything it started (vLLM, for one, runs engine processes of its
 * own), with its stderr kept in a bounded tail.
 *
 * The command is started through the keeper (`keeper.ts`), a small Node process that holds an IPC
 * channel from this one: when this process goes away, however it ends, the channel closes and the
 * keeper stops the worker's group, so no worker outlives the gateway or harness that started it.
 * The pid is the worker's own (its group's leader), which is what `stop()` signals; the keeper
 * reports it, and the worker's exit, over the channel.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ProcessSpec } from "../../spec/runtime.js";
import type { KeeperReport, KeeperStart } from "./keeper.js";
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

export interface SpawnOptions {
  /** Sees every line the worker writes to stderr. */
  onLine?: (line: string) => void;
  /** Between SIGTERM and SIGKILL when the keeper stops the worker because this process is gone. */
  orphanGraceMs?: number;
}

// Process groups are a POSIX notion; on Windows only the process itself can be signalled.
const GROUPS = process.platform !== "win32";
// After exit, wait this long at most for the rest of stderr (a grandchild may hold the pipe open)
// and for the keeper's last report.
const DRAIN_MS = 250;
// How long after the worker's SIGKILL the keeper itself is killed if it has not ended.
const KEEPER_BACKSTOP_MS = 1000;

/**
 * Spawns `spec` through a keeper and settles once the worker runs (its pid is known) or could not
 * be started (then `exited` has settled with `spawnError`). `env` is added to this process's
 * environment, and the spec's own env to that.
 */
export async function spawnWorker(
  spec: ProcessSpec,
  env: Record<string, string>,
  options: SpawnOptions = {},
): Promise<WorkerProcess> {
  const tail = new LineTail(undefined, undefined, options.onLine);
  const keeper = spawn(process.execPath, keeperArgs(), {
    stdio: ["ignore", "ignore", "pipe", "ipc"],
    detached: GROUPS,
    windowsHide: true,
  });
  const stderrEnded = new Promise<void>((resolve) => {
    if (!keeper.stderr) return resolve();
    keeper.stderr.setEncoding("utf8");
    keeper.stderr.on("data", (d: string) => tail.push(d));
    keeper.stderr.once("close", () => resolve());
  });
  const channelClosed = new Promise<void>((resolve) => {
    if (!keeper.connected) return resolve();
    keeper.once("disconnect", () => resolve());
  });

  let pid: number | undefined;
  // The keeper's account of the worker's end; without one (the keeper itself was killed), its own.
  let reported: ExitInfo | undefined;
  let exit: ExitInfo | undefined;
  let markStarted = () => {};
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  keeper.on("message", (m: KeeperReport) => {
    if (m.kind === "started") pid = m.pid;
    else if (m.kind === "spawn-failed") reported = { code: null, signal: null, spawnError: spawnError(m) };
    else reported = { code: m.code, signal: m.signal };
    markStarted();
  });
  const exited = new Promise<ExitInfo>((resolve) => {
    const settle = (info: ExitInfo) => {
      if (exit) return;
      exit = info;
      markStarted();
      const drained = new Promise<void>((r) => setTimeout(r, DRAIN_MS).unref());
      void Promise.race([Promise.all([stderrEnded, channelClosed]), drained]).then(() => {
        const final = reported ?? info;
        exit = final;
        resolve(final);
      });
    };
    keeper.once("exit", (code, signal) => settle({ code, signal }));
    // 'error' also reports a failed kill or send; only a failed spawn (no pid) means it is gone.
    keeper.on("error", (err) => {
      if (keeper.pid === undefined) settle({ code: null, signal: null, spawnError: err });
    });
  });

  if (keeper.pid !== undefined) {
    const request: KeeperStart = {
      command: spec.command,
      args: spec.args,
      env: { ...definedEnv(), ...env, ...spec.env },
      graceMs: options.orphanGraceMs ?? 10_000,
    };
    keeper.send(request, (err) => {
      // The keeper died before it read the request: its exit says how.
      if (err) keeper.kill("SIGKILL");
    });
  }
  await started;

  const signalGroup = (sig: NodeJS.Signals) => {
    // Before the worker exists, the keeper stands for it (and stops it once it does).
    if (pid === undefined) return signalKeeper(keeper, sig);
    try {
      process.kill(GROUPS ? -pid : pid, sig);
    } catch (err) {
      // ESRCH: nothing left in the group. Anything else: fall back to the process itself.
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") {
        try {
          process.kill(pid, sig);
        } catch {
          // Gone already.
        }
      }
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
        // The keeper ends once its worker has; should it not, it goes too.
        const backstop = setTimeout(() => signalKeeper(keeper, "SIGKILL"), graceMs + KEEPER_BACKSTOP_MS);
        await exited;
        clearTimeout(timer);
        clearTimeout(backstop);
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

/** The keeper beside this module: keeper.ts from source, keeper.js built. */
function keeperArgs(): string[] {
  const fromSource = import.meta.url.endsWith(".ts");
  const file = fileURLToPath(new URL(fromSource ? "./keeper.ts" : "./keeper.js", import.meta.url));
  if (!fromSource) return [file];
  // The keeper's types are erasable: Node strips them itself where it can; elsewhere tsx (a
  // development dependency, present wherever the sources run) does.
  if (process.features.typescript) return ["--disable-warning=ExperimentalWarning", file];
  return ["--import", import.meta.resolve("tsx"), file];
}

function signalKeeper(keeper: ChildProcess, sig: NodeJS.Signals): void {
  if (keeper.exitCode !== null || keeper.signalCode !== null) return;
  try {
    keeper.kill(sig);
  } catch {
    // Gone already.
  }
}

function spawnError(m: Extract<KeeperReport, { kind: "spawn-failed" }>): Error {
  const err: NodeJS.ErrnoException = new Error(m.message);
  if (m.code !== undefined) err.code = m.code;
  return err;
}

/** This process's environment without unset entries (it crosses the channel as JSON). */
function definedEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) out[k] = v;
  return out;
}
