/**
 * Worker processes started through the keeper (src/control/local/keeper.ts): what the local
 * backend saw of a worker spawned directly still holds (its own pid as the leader of its own
 * process group, stderr lines, exit codes and signals, a command that cannot be spawned), stop()
 * still stops everything the worker started, and a worker does not outlive the process that
 * started it, even when that process is killed with SIGKILL.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LocalBackend } from "../../src/control/local/index.js";
import { describeExit, spawnWorker, type WorkerProcess } from "../../src/control/local/worker-process.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import type { RuntimeDefinition } from "../../src/spec/runtime.js";
import { FAKE_SPEC, FAST, statusWhen } from "../conformance/deployment-backend-local.js";
import { fakeRuntime, processAlive } from "../helpers/fake-worker.js";
import { waitFor } from "../helpers/wait-for.js";

const ROOT = join(import.meta.dirname, "..", "..");
const LINUX = process.platform === "linux";

interface Behaviour {
  exitCode?: number;
  signal?: NodeJS.Signals;
  lines?: string[];
  grandchild?: boolean;
  ignoreSigterm?: boolean;
}

/** A worker of a few lines of plain Node: says who it is on stderr, then does as told. */
const WORKER = `
const { spawn } = require("node:child_process");
const b = JSON.parse(process.env.KEEPER_TEST_WORKER || "{}");
const info = { pid: process.pid };
if (b.grandchild) info.grandchild = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" }).pid;
if (b.ignoreSigterm) process.on("SIGTERM", () => {});
process.stderr.write("worker " + JSON.stringify(info) + "\\n");
for (const line of b.lines || []) process.stderr.write(line + "\\n");
if (b.exitCode !== undefined) process.exit(b.exitCode);
if (b.signal) process.kill(process.pid, b.signal);
setInterval(() => {}, 1000);
`;

function workerSpec(b: Behaviour = {}) {
  return { command: process.execPath, args: ["-e", WORKER], env: { KEEPER_TEST_WORKER: JSON.stringify(b) } };
}

interface Started {
  proc: WorkerProcess;
  lines: string[];
  /** What the worker said about itself. */
  info: { pid: number; grandchild?: number };
}

const running: WorkerProcess[] = [];
const pids: number[] = [];

async function start(b: Behaviour = {}): Promise<Started> {
  const lines: string[] = [];
  const proc = await spawnWorker(workerSpec(b), {}, { onLine: (l) => lines.push(l), orphanGraceMs: 300 });
  running.push(proc);
  const info = await waitFor(
    () => {
      const line = lines.find((l) => l.startsWith("worker "));
      return line === undefined ? undefined : (JSON.parse(line.slice(7)) as Started["info"]);
    },
    { what: "the worker to say who it is", detail: () => lines.join(" | ") },
  );
  pids.push(info.pid, ...(info.grandchild === undefined ? [] : [info.grandchild]));
  return { proc, lines, info };
}

async function allGone(list: number[], timeoutMs = 10_000): Promise<void> {
  await waitFor(() => !list.some(processAlive), {
    what: `processes ${list.join(", ")} to be gone`,
    timeoutMs,
    detail: () => `alive: ${list.filter(processAlive).join(", ")}`,
  });
}

/** The live (not zombie) processes of process group `pgid`, from /proc (Linux). */
function liveInGroup(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      if (procStat(pid).pgid === pgid && processAlive(pid)) out.push(pid);
    } catch {
      // Gone while looking.
    }
  }
  return out;
}

/** The process group and parent of a live process, from /proc (Linux). */
function procStat(pid: number): { ppid: number; pgid: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { ppid: Number(fields[1]), pgid: Number(fields[2]) };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tokenforge-keeper-"));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop(200)));
});
afterAll(async () => {
  await allGone(pids.splice(0));
  rmSync(dir, { recursive: true, force: true });
});

describe("a worker started through the keeper", () => {
  it("is its own process group's leader, with that pid reported, and its stderr lines followed", async () => {
    const { proc, lines, info } = await start({ lines: ["loading…", "ready soon"] });
    expect(proc.pid).toBe(info.pid);
    if (LINUX) {
      const stat = procStat(info.pid);
      expect(stat.pgid).toBe(info.pid);
      // Its parent is the keeper, not this process.
      expect(stat.ppid).not.toBe(process.pid);
    }
    await waitFor(() => lines.includes("ready soon"), { what: "the last line" });
    expect(lines.slice(1)).toEqual(["loading…", "ready soon"]);
    expect(proc.tail.last(2)).toEqual(["loading…", "ready soon"]);

    const exit = await proc.stop(2000);
    expect(exit).toEqual({ code: null, signal: "SIGTERM" });
    expect(describeExit(exit)).toBe("killed by SIGTERM");
    expect(processAlive(info.pid)).toBe(false);
  });

  it("reports the worker's exit code", async () => {
    const { proc } = await start({ exitCode: 3, lines: ["cannot open model file"] });
    const exit = await proc.exited;
    expect(exit).toEqual({ code: 3, signal: null });
    expect(describeExit(exit)).toBe("exit code 3");
    expect(proc.tail.last(1)).toEqual(["cannot open model file"]);
  });

  it("reports the signal that killed the worker", async () => {
    const { proc } = await start({ signal: "SIGKILL" });
    const exit = await proc.exited;
    expect(exit).toEqual({ code: null, signal: "SIGKILL" });
    expect(describeExit(exit)).toBe("killed by SIGKILL");
  });

  it("reports a command that cannot be spawned as a spawn error, without a pid", async () => {
    const proc = await spawnWorker({ command: join(dir, "no-such-engine"), args: [], env: {} }, {});
    expect(proc.pid).toBeUndefined();
    const exit = await proc.exited;
    expect((exit.spawnError as NodeJS.ErrnoException | undefined)?.code).toBe("ENOENT");
    expect(describeExit(exit)).toMatch(/^could not start: .*ENOENT/);
    expect(await proc.stop(200)).toBe(exit);
  });

  it("stop() ends the worker's children and a worker that ignores SIGTERM", async () => {
    const { proc, info } = await start({ grandchild: true, ignoreSigterm: true });
    expect(info.grandchild).toBeTypeOf("number");
    const exit = await proc.stop(300);
    expect(exit.signal).toBe("SIGKILL");
    await allGone([info.pid, info.grandchild!], 3000);
  });

  it.skipIf(!LINUX)("when the keeper itself is killed, stop() still ends the worker's group", async () => {
    const { proc, info } = await start({ grandchild: true });
    process.kill(procStat(info.pid).ppid, "SIGKILL");
    expect(describeExit(await proc.exited)).toBe("killed by SIGKILL");
    await proc.stop(300);
    await allGone([info.pid, info.grandchild!], 3000);
  });
});

describe("the local backend through the keeper", () => {
  it("fails a replica whose command cannot be spawned as not-started, at once", async () => {
    const missing: RuntimeDefinition = {
      ...fakeRuntime({ pidFile: join(dir, "pids.txt") }),
      localProcess: () => ({ command: join(dir, "no-such-worker"), args: [], env: {} }),
    };
    const backend = new LocalBackend({ runtimes: new RuntimeRegistry([missing]), ...FAST });
    try {
      await backend.create({ ...FAKE_SPEC, id: "missing" });
      const s = await statusWhen(backend, "missing", (d) => d.state === "failed");
      expect(s.replicas[0]).toMatchObject({ state: "failed", restarts: 0 });
      expect(s.replicas[0]?.failure?.kind).toBe("not-started");
      expect(s.replicas[0]?.failure?.message).toMatch(/could not start: .*ENOENT/);
    } finally {
      await backend.close();
    }
  });
});

describe("a worker whose starter dies", () => {
  /** A Node process that starts one worker through the keeper and prints what the worker said. */
  const STARTER = `
import { spawnWorker } from ${JSON.stringify(pathToFileURL(join(ROOT, "src", "control", "local", "worker-process.ts")).href)};
const spec = JSON.parse(process.env.KEEPER_TEST_SPEC);
let said = false;
await spawnWorker(spec, {}, {
  orphanGraceMs: 300,
  onLine: (line) => {
    if (said || !line.startsWith("worker ")) return;
    said = true;
    process.stdout.write(line.slice(7) + "\\n");
  },
});
setInterval(() => {}, 1000);
`;

  let starter: ChildProcess | undefined;
  afterEach(() => {
    if (starter?.exitCode === null && starter.signalCode === null) starter.kill("SIGKILL");
  });

  it("is stopped with its whole group when the starter is killed with SIGKILL", async () => {
    const spec = workerSpec({ grandchild: true, ignoreSigterm: true });
    starter = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", STARTER], {
      cwd: ROOT,
      env: { ...process.env, KEEPER_TEST_SPEC: JSON.stringify(spec) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    starter.stdout?.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    starter.stderr?.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const info = await waitFor(
      () => (stdout.includes("\n") ? (JSON.parse(stdout.split("\n")[0]!) as Started["info"]) : undefined),
      { what: "the starter to report its worker", timeoutMs: 30_000, detail: () => stderr },
    );
    const group = [info.pid, info.grandchild!];
    pids.push(...group);
    expect(group.every(processAlive)).toBe(true);

    starter.kill("SIGKILL");
    // The worker ignores SIGTERM: the keeper's SIGKILL after the grace ends it and its child.
    await allGone(group);
    // Nothing live is left in the group (a zombie waits for whoever reaps orphans here).
    if (LINUX) {
      await waitFor(() => liveInGroup(info.pid).length === 0, {
        what: `process group ${info.pid} to have no live member`,
        detail: () => `live: ${liveInGroup(info.pid).join(", ")}`,
      });
    }
  });
});
