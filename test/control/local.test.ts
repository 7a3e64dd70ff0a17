/**
 * The local deployment backend beyond the contract every backend meets
 * (test/conformance/deployment-backend*.ts): replicas on their own ports, crashes restarted with
 * backoff, failures reported with the worker's output, and no process left after delete or close,
 * however the workers behave. Most tests use a stand-in worker (test/helpers/fake-worker.ts); one
 * runs the real llama.cpp worker.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EventLog } from "../../src/control/local/event-log.js";
import { LocalBackend, type LocalBackendOptions } from "../../src/control/local/index.js";
import { LineTail } from "../../src/control/local/line-tail.js";
import { RestartBudget } from "../../src/control/local/restart-policy.js";
import { isTokenForgeError, type TokenForgeError } from "../../src/errors.js";
import { llamaCppRuntime } from "../../src/runtimes/llamacpp/index.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import type { DeploymentEvent, DeploymentSpec, DeploymentStatus } from "../../src/spec/deployment.js";
import type { RuntimeDefinition } from "../../src/spec/runtime.js";
import { FAKE_SPEC, FAST, statusWhen } from "../conformance/deployment-backend-local.js";
import { type FakeWorkerBehaviour, fakeRuntime, processAlive, recordedPids } from "../helpers/fake-worker.js";
import { waitFor } from "../helpers/wait-for.js";

const ROOT = join(import.meta.dirname, "..", "..");
let dir: string;
let pidFile: string;
let backends: LocalBackend[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tokenforge-local-"));
});
afterEach(async () => {
  await Promise.all(backends.map((b) => b.close()));
  backends = [];
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let fileCount = 0;
function newPidFile(): string {
  pidFile = join(dir, `pids-${fileCount++}.txt`);
  return pidFile;
}

function backendWith(runtime: RuntimeDefinition, options: Partial<LocalBackendOptions> = {}): LocalBackend {
  const backend = new LocalBackend({ runtimes: new RuntimeRegistry([runtime]), ...FAST, ...options });
  backends.push(backend);
  return backend;
}

function fakeBackend(
  behaviour: (start: number, model: string) => FakeWorkerBehaviour = () => ({}),
  options: Partial<LocalBackendOptions> = {},
) {
  const runtime = fakeRuntime({ pidFile: newPidFile(), behaviour });
  return { backend: backendWith(runtime, options), runtime };
}

function spec(id: string, overrides: Partial<DeploymentSpec> = {}): DeploymentSpec {
  return { ...FAKE_SPEC, id, ...overrides };
}

/** Waits until none of `pids` is alive, naming the ones that are when time runs out. */
async function allGone(pids: number[], timeoutMs = 3000): Promise<void> {
  await waitFor(() => !pids.some(processAlive), {
    what: "every worker process to be gone",
    timeoutMs,
    detail: () => `alive: ${pids.filter(processAlive).join(", ")}`,
  });
}

async function caught(p: Promise<unknown>): Promise<TokenForgeError> {
  try {
    await p;
  } catch (err) {
    if (isTokenForgeError(err)) return err;
    throw err;
  }
  throw new Error("expected a TokenForgeError");
}

const kinds = (s: DeploymentStatus) => s.events.map((e) => e.kind);

describe("local backend with stand-in workers", () => {
  it("starts two replicas on distinct ports, and is ready once each answers /health as itself", async () => {
    const { backend } = fakeBackend();
    const created = await backend.create(spec("two", { replicas: 2 }));
    expect(created.state).toBe("pending");
    expect(kinds(created)).toEqual(["created"]);

    const s = await statusWhen(backend, "two", (d) => d.state === "ready");
    expect(s.endpoints).toHaveLength(2);
    expect(new Set(s.endpoints).size).toBe(2);
    for (const r of s.replicas) {
      expect(r).toMatchObject({ state: "ready", restarts: 0 });
      const res = await fetch(`${r.endpoint}/health`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { pid: number }).pid).toBe(r.pid);
    }
    expect(s.events.filter((e) => e.kind === "starting").map((e) => e.replica)).toEqual(
      expect.arrayContaining([0, 1]),
    );
    expect(s.events.at(-1)).toMatchObject({ kind: "ready", message: "all 2 replica(s) ready" });
    expect(s.events.at(-1)?.replica).toBeUndefined();
    expect(s.lastError).toBeUndefined();
  });

  it("restarts a crashed worker with backoff, records crashed/restarting events and counts the restart", async () => {
    const { backend } = fakeBackend((n) => ({ stderr: `fake worker #${n} says hello` }));
    await backend.create(spec("crash"));
    const before = await statusWhen(backend, "crash", (d) => d.state === "ready");
    const firstPid = before.replicas[0]!.pid!;

    process.kill(firstPid, "SIGKILL");
    const after = await statusWhen(
      backend,
      "crash",
      (d) => d.state === "ready" && d.replicas[0]!.restarts === 1,
    );
    expect(after.replicas[0]!.pid).not.toBe(firstPid);
    expect(after.endpoints).toHaveLength(1);
    const tail = kinds(after).slice(kinds(after).indexOf("crashed"));
    expect(tail).toEqual(["crashed", "restarting", "starting", "ready", "ready"]);
    const crashed = after.events.find((e) => e.kind === "crashed")!;
    expect(crashed.replica).toBe(0);
    expect(crashed.message).toContain(`pid ${firstPid}`);
    expect(crashed.message).toContain("killed by SIGKILL");
    expect(crashed.message).toContain("fake worker #0 says hello");
    expect(after.events.find((e) => e.kind === "restarting")!.message).toContain("in 50 ms (restart 1)");
    expect(after.lastError).toBe(crashed.message);
    expect(processAlive(firstPid)).toBe(false);
  });

  it("fails a worker that exits at once after the restart budget, with its stderr in lastError", async () => {
    const { backend, runtime } = fakeBackend(() => ({
      exitAfterMs: 0,
      exitCode: 3,
      stderr: "fake worker: cannot open model file",
    }));
    await backend.create(spec("dies"));
    const s = await statusWhen(backend, "dies", (d) => d.state === "failed");
    expect(s.replicas[0]).toMatchObject({ state: "failed", restarts: 3 });
    expect(s.endpoints).toEqual([]);
    expect(runtime.starts()).toBe(4);
    expect(s.lastError).toContain("exit code 3");
    expect(s.lastError).toContain("fake worker: cannot open model file");
    // Exponential backoff: 50, 100, 200 ms (initial 50, doubling).
    const delays = s.events
      .filter((e) => e.kind === "restarting")
      .map((e) => Number(/in (\d+) ms/.exec(e.message)?.[1]));
    expect(delays).toEqual([50, 100, 200]);
    expect(kinds(s).filter((k) => k === "crashed")).toHaveLength(4);
    expect(s.events.at(-1)).toMatchObject({ kind: "failed", replica: 0 });
    expect(s.events.at(-1)?.message).toContain("3 restart(s) already");
  });

  it("fails a worker that never becomes healthy after the ready timeout, and stops it", async () => {
    const { backend, runtime } = fakeBackend(() => ({ neverHealthy: true, stderr: "still loading…" }), {
      readyTimeoutMs: 600,
    });
    await backend.create(spec("slow"));
    const s = await statusWhen(backend, "slow", (d) => d.state === "failed");
    expect(s.lastError).toMatch(/was not ready within 600 ms/);
    expect(s.lastError).toContain("still loading…");
    expect(s.replicas[0]).toMatchObject({ state: "failed", restarts: 0 });
    expect(s.replicas[0]!.pid).toBeUndefined();
    expect(runtime.starts()).toBe(1);
    await allGone(recordedPids(pidFile));
  });

  it("fails at once, without restarts, when the worker command cannot be spawned", async () => {
    const missing: RuntimeDefinition = {
      ...fakeRuntime({ pidFile: newPidFile() }),
      name: "fake",
      description: "stand-in whose command does not exist",
      localProcess: () => ({ command: join(dir, "no-such-worker"), args: [], env: {} }),
    };
    const backend = backendWith(missing);
    await backend.create(spec("missing"));
    const s = await statusWhen(backend, "missing", (d) => d.state === "failed");
    expect(s.replicas[0]).toMatchObject({ state: "failed", restarts: 0 });
    expect(s.lastError).toMatch(/could not start: .*ENOENT/);
  });

  it("reports stopping and then stopped to onEvent when a deployment is deleted", async () => {
    const events: DeploymentEvent[] = [];
    const { backend } = fakeBackend(() => ({}), { onEvent: (id, e) => id === "gone" && events.push(e) });
    await backend.create(spec("gone", { replicas: 2 }));
    await statusWhen(backend, "gone", (d) => d.state === "ready");
    await backend.delete("gone");
    expect(events.slice(-2).map((e) => e.kind)).toEqual(["stopping", "stopped"]);
  });

  it("a delete right after create leaves no process and starts none later", async () => {
    const { backend, runtime } = fakeBackend(() => ({ healthyAfterMs: 300 }));
    await backend.create(spec("early", { replicas: 2 }));
    await backend.delete("early");
    await backend.create(spec("starting", { replicas: 2 }));
    await statusWhen(backend, "starting", (d) => d.replicas.every((r) => r.pid !== undefined));
    await backend.delete("starting");
    const starts = runtime.starts();
    // Nothing may start during a pause longer than a start takes.
    await new Promise((r) => setTimeout(r, 200));
    expect(runtime.starts()).toBe(starts);
    await allGone(recordedPids(pidFile));
    expect(await backend.list()).toEqual([]);
  });

  it("close() stops every worker, their children and workers ignoring SIGTERM, even during a backoff", async () => {
    const { backend, runtime } = fakeBackend(
      (_n, model): FakeWorkerBehaviour => {
        switch (model) {
          case "with-child":
            return { grandchild: true };
          case "stubborn":
            return { ignoreSigterm: true };
          case "crash-loop":
            return { exitAfterMs: 0 };
          default:
            return {};
        }
      },
      { restart: { initialDelayMs: 5000, maxDelayMs: 5000, maxRestarts: 3 } },
    );
    await backend.create(spec("a", { model: "with-child", replicas: 2 }));
    await backend.create(spec("b", { model: "stubborn" }));
    await backend.create(spec("c", { model: "crash-loop" }));
    await statusWhen(backend, "a", (d) => d.state === "ready");
    await statusWhen(backend, "b", (d) => d.state === "ready");
    await statusWhen(backend, "c", (d) => kinds(d).includes("restarting"));
    const pids = recordedPids(pidFile);
    expect(pids.length).toBe(6); // 2 workers + 2 grandchildren, 1 stubborn, 1 crashed

    const started = performance.now();
    await backend.close();
    expect(performance.now() - started).toBeLessThan(4000); // not waiting out the 5 s backoff
    expect(await backend.list()).toEqual([]);
    await allGone(pids);
    expect(runtime.starts()).toBe(4);
    // Nothing starts after close() either.
    await new Promise((r) => setTimeout(r, 100));
    expect(runtime.starts()).toBe(4);
    expect((await caught(backend.create(spec("late")))).code).toBe("not_ready");
  });

  it("names the known runtimes and every problem of a bad spec at once; a refused duplicate starts nothing", async () => {
    const { backend, runtime } = fakeBackend();
    const unknown = await caught(backend.create(spec("x", { runtime: "nope" })));
    expect(unknown).toMatchObject({ code: "invalid_request", field: "runtime" });
    expect(unknown.message).toContain('unknown runtime "nope"; known: fake');

    const several = await caught(backend.create(spec("x", { replicas: 0, target: "kubernetes" })));
    expect(several).toMatchObject({ code: "invalid_request", field: "target" });
    expect(several.message).toContain("replicas must be an integer ≥ 1");

    // Refused while the first is still starting.
    await backend.create(spec("dup"));
    expect((await caught(backend.create(spec("dup", { replicas: 3 })))).field).toBe("id");
    const s = await statusWhen(backend, "dup", (d) => d.state === "ready");
    expect(s.replicas).toHaveLength(1);
    expect(runtime.starts()).toBe(1);
  });

  it("says in the created event and its warnings that it does not reserve resources", async () => {
    const { backend } = fakeBackend();
    const s = await backend.create(spec("notes", { resources: { gpus: 1 } }));
    expect(s.events[0]?.message).toContain("resources are not reserved");
    expect(s.warnings).toEqual([
      {
        kind: "unsupported-setting",
        field: "resources",
        message: "resources are not reserved or limited by the local backend",
      },
    ]);
    expect((await backend.create(spec("plain"))).warnings).toBeUndefined();
  });
});

describe("local backend building blocks", () => {
  it("backs off exponentially up to the cap and gives up after maxRestarts within the window", () => {
    const budget = new RestartBudget({
      initialDelayMs: 500,
      maxDelayMs: 3000,
      maxRestarts: 4,
      windowMs: 60_000,
    });
    expect([0, 1, 2, 3].map((t) => budget.next(t))).toEqual([500, 1000, 2000, 3000]);
    expect(budget.next(4)).toBeUndefined();
    // Once the old restarts leave the window, the budget and the backoff start again.
    expect(budget.next(70_000)).toBe(500);
  });

  it("keeps the last 100 events and the last lines of output", () => {
    const log = new EventLog();
    for (let i = 0; i < 150; i++)
      log.add({ at: new Date().toISOString(), kind: "crashed", message: `#${i}` });
    expect(log.list()).toHaveLength(100);
    expect(log.list()[0]?.message).toBe("#50");

    const tail = new LineTail(3, 10);
    tail.push("one\ntwo\nthr");
    tail.push("ee\r50%\r100%\n\nlast without newline and long");
    // Three whole lines, plus the unterminated one cut to its last 10 characters.
    expect(tail.last(10)).toEqual(["three", "50%", "100%", "e and long"]);
  });
});

describe("local backend with the real llama.cpp worker", () => {
  it("serves a completion through the deployment's endpoint, and delete leaves no process", async () => {
    const self = {
      command: process.execPath,
      args: ["--import", "tsx", join(ROOT, "src", "cli", "tokenforge.ts")],
    };
    const backend = backendWith(llamaCppRuntime(self), {
      readyTimeoutMs: 90_000,
      env: { TOKENFORGE_MODEL_CACHE: join(ROOT, ".tokenforge", "test-models") },
    });
    await backend.create({
      ...spec("llama"),
      runtime: "llamacpp",
      model: "synthetic:tiny",
      engineArgs: ["--threads", "1", "--gpu", "off", "--parallel", "1", "--ctx-size", "512"],
    });
    const s = await statusWhen(backend, "llama", (d) => d.state === "ready" || d.state === "failed", 90_000);
    expect(s.lastError).toBeUndefined();
    expect(s.state).toBe("ready");
    const pid = s.replicas[0]!.pid!;
    const res = await fetch(`${s.endpoints[0]}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "The quick brown fox", max_tokens: 4, ignore_eos: true }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { usage: { completion_tokens: number } };
    expect(body.usage.completion_tokens).toBe(4);

    await backend.delete("llama");
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }));
  });
});
