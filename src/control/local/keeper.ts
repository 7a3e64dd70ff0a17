/**
 * The keeper: a small Node process between the local backend and one worker, so that the worker
 * cannot outlive the process that started it. The backend runs it with an IPC channel
 * (`stdio[3]`) and sends one `KeeperStart`; the keeper spawns that command in a process group of
 * its own (the worker is the group's leader, so the backend's `stop()` still signals the whole
 * group), hands it its own stderr (the backend's pipe, read as before), and reports over the
 * channel: the worker's pid, or why it could not be spawned, then how it exited. It mirrors that
 * exit as its own (the same exit code, or the same signal) and exits with 127 when the command
 * could not be spawned.
 *
 * When the channel closes (the backend's process is gone, even killed by SIGKILL) or the keeper
 * is sent SIGTERM, SIGINT or SIGHUP, it stops the worker's group itself: SIGTERM, SIGKILL after
 * the grace, then SIGKILL to whatever the worker left in its group.
 *
 * This file is an executable, not a library: it runs on load and imports nothing but Node's own
 * modules (its types are erasable, so Node can run the source itself).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { constants } from "node:os";

/** The one message the backend sends: what to run. */
export interface KeeperStart {
  command: string;
  args: string[];
  /** The worker's whole environment. */
  env: Record<string, string>;
  /** Between SIGTERM and SIGKILL when the keeper stops the worker itself. */
  graceMs: number;
}

/** What the keeper reports, in this order: `started` or `spawn-failed`, then `exited`. */
export type KeeperReport =
  | { kind: "started"; pid: number }
  | { kind: "spawn-failed"; message: string; code?: string }
  | { kind: "exited"; code: number | null; signal: NodeJS.Signals | null };

// Process groups are a POSIX notion; on Windows only the process itself can be signalled.
const GROUPS = process.platform !== "win32";
/** The keeper's exit status when the command could not be spawned (a shell's "not found"). */
const SPAWN_FAILED = 127;
/** Signals whose default action Node overrides or that do not end a process when sent to oneself. */
const NOT_MIRRORED = new Set(["SIGUSR1", "SIGPIPE"]);

let worker: ChildProcess | undefined;
let graceMs = 10_000;
let stopping = false;
let killTimer: NodeJS.Timeout | undefined;

// Once the backend is gone, its end of the stderr pipe may be closed: writing there must not crash
// the keeper before it has stopped the worker.
process.stderr.on("error", () => {});

if (process.send === undefined) {
  process.stderr.write("the keeper is started by TokenForge's local backend, with an IPC channel\n");
  process.exit(2);
}

process.once("message", (message: KeeperStart) => start(message));
process.once("disconnect", stopWorker);
for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(sig, stopWorker);

function start(request: KeeperStart): void {
  graceMs = request.graceMs;
  let child: ChildProcess;
  try {
    child = spawn(request.command, request.args, {
      env: request.env,
      stdio: ["ignore", "ignore", "inherit"],
      detached: GROUPS,
      windowsHide: true,
    });
  } catch (err) {
    // Arguments the OS refuses outright (e.g. a NUL byte) throw instead of emitting 'error'.
    spawnFailed(err);
    return;
  }
  worker = child;
  // 'error' also reports a failed kill; only a failed spawn (no pid) means there is no worker.
  child.on("error", (err) => {
    if (child.pid === undefined) spawnFailed(err);
  });
  child.once("exit", (code, signal) => {
    clearTimeout(killTimer);
    // The leader is gone; anything it started and left behind goes too.
    signalWorker("SIGKILL");
    void report({ kind: "exited", code, signal }).then(() => mirror(code, signal));
  });
  if (child.pid !== undefined) void report({ kind: "started", pid: child.pid });
  // Asked to stop before the worker existed.
  if (stopping) {
    stopping = false;
    stopWorker();
  }
}

function spawnFailed(err: unknown): void {
  worker = undefined;
  const e = err as NodeJS.ErrnoException;
  const failure: KeeperReport = { kind: "spawn-failed", message: e.message ?? String(err) };
  if (typeof e.code === "string") failure.code = e.code;
  void report(failure).then(() => process.exit(SPAWN_FAILED));
}

/** SIGTERM to the worker's group, SIGKILL after the grace; with no worker, the keeper just ends. */
function stopWorker(): void {
  if (stopping) return;
  stopping = true;
  if (worker === undefined) {
    // Not started yet: `start` stops it once it exists; never asked to start: nothing to stop.
    if (!process.connected) process.exit(0);
    return;
  }
  signalWorker("SIGTERM");
  killTimer = setTimeout(() => signalWorker("SIGKILL"), graceMs);
}

function signalWorker(sig: NodeJS.Signals): void {
  const pid = worker?.pid;
  if (pid === undefined) return;
  try {
    process.kill(GROUPS ? -pid : pid, sig);
  } catch (err) {
    // ESRCH: nothing left in the group. Anything else: fall back to the process itself.
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") worker?.kill(sig);
  }
}

/** Sends a report when the backend is still there; settles once it has been written. */
function report(message: KeeperReport): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || process.send === undefined) return resolve();
    try {
      process.send(message, undefined, {}, () => resolve());
    } catch {
      resolve();
    }
  });
}

/** Ends the keeper the way the worker ended. */
function mirror(code: number | null, signal: NodeJS.Signals | null): void {
  if (signal === null) process.exit(code ?? 1);
  const number = constants.signals[signal] ?? 0;
  if (!NOT_MIRRORED.has(signal)) {
    for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.removeAllListeners(sig);
    try {
      process.kill(process.pid, signal);
    } catch {
      // Fall through to the exit status a shell would give.
    }
  }
  // A signal that did not end the keeper: the exit status a shell reports for it.
  setTimeout(() => process.exit(128 + number), 1000);
}
