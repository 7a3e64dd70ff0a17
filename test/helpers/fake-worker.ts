/**
 * A STAND-IN worker process for deployment backend tests, not an engine: a few lines of plain
 * Node run with `node -e` (no TypeScript loader, so a start costs tens of milliseconds) that
 * listen on `--host`/`--port`, answer `GET /health` 200, and misbehave on request. Every process
 * it starts appends its pid to a file, so a test can check that none is left.
 */
import { readFileSync } from "node:fs";
import { WORKER_HEALTH } from "../../src/runtimes/worker-protocol.js";
import type { RuntimeDefinition } from "../../src/spec/runtime.js";

export interface FakeWorkerBehaviour {
  /** Exit this long after starting (0: before listening at all). */
  exitAfterMs?: number;
  exitCode?: number;
  /** Written to stderr at start. */
  stderr?: string;
  /** /health answers 503 forever. */
  neverHealthy?: boolean;
  /** /health answers 503 until this long after starting. */
  healthyAfterMs?: number;
  /** Ignore SIGTERM, so only SIGKILL stops it. */
  ignoreSigterm?: boolean;
  /** Start a child process of its own that runs until killed. */
  grandchild?: boolean;
}

const SOURCE = `
const fs = require("node:fs");
const http = require("node:http");
const { spawn } = require("node:child_process");
const arg = (name) => process.argv[process.argv.indexOf("--" + name) + 1];
const b = JSON.parse(process.env.FAKE_WORKER || "{}");
const record = (pid) => fs.appendFileSync(process.env.FAKE_WORKER_PID_FILE, pid + "\\n");
record(process.pid);
if (b.stderr) process.stderr.write(b.stderr + "\\n");
if (b.ignoreSigterm) process.on("SIGTERM", () => process.stderr.write("ignoring SIGTERM\\n"));
if (b.grandchild) {
  const g = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  record(g.pid);
}
if (b.exitAfterMs === 0) {
  process.exit(b.exitCode ?? 1);
} else {
  if (b.exitAfterMs !== undefined) setTimeout(() => process.exit(b.exitCode ?? 1), b.exitAfterMs);
  const started = Date.now();
  http
    .createServer((req, res) => {
      const ok = req.url === "/health" && !b.neverHealthy && Date.now() - started >= (b.healthyAfterMs ?? 0);
      res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: ok ? "ok" : "loading", pid: process.pid }));
    })
    .listen(Number(arg("port")), arg("host"));
}
`;

export interface FakeRuntime extends RuntimeDefinition {
  /** How many processes localProcess has been asked for. */
  starts(): number;
}

/**
 * A runtime whose workers are the fake worker; `behaviour(n, model)` decides how the n-th process
 * (0-based, counted across deployments, replicas and restarts) behaves.
 */
export function fakeRuntime(options: {
  pidFile: string;
  name?: string;
  behaviour?: (start: number, model: string) => FakeWorkerBehaviour;
}): FakeRuntime {
  let starts = 0;
  return {
    specificationVersion: "v1",
    name: options.name ?? "fake",
    description: "stand-in worker for tests (answers /health only)",
    starts: () => starts,
    localProcess: ({ model, port, host, extraArgs }) => {
      // Validation passes port 0 to build the spec without starting anything: not a start.
      const b = port === 0 ? {} : (options.behaviour?.(starts++, model) ?? {});
      return {
        command: process.execPath,
        args: ["-e", SOURCE, "--", "--host", host, "--port", String(port), ...extraArgs],
        env: { FAKE_WORKER: JSON.stringify(b), FAKE_WORKER_PID_FILE: options.pidFile },
      };
    },
    ownedFlags: ["--host", "--port"],
    health: WORKER_HEALTH,
  };
}

/** Every pid the fake workers (and their children) wrote to `pidFile`. */
export function recordedPids(pidFile: string): number[] {
  let text = "";
  try {
    text = readFileSync(pidFile, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map(Number);
}

/** False once the process is gone; a zombie nobody has reaped yet counts as gone. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw err;
  }
  if (process.platform !== "linux") return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The state letter follows the parenthesised command name.
    return stat.charAt(stat.lastIndexOf(")") + 2) !== "Z";
  } catch {
    return false;
  }
}
