/**
 * The make targets say what is missing before anything else fails: `make deploy-k8s` without a
 * cluster, `make compose-up` / `make images` without a Docker engine. And `make dev`'s script
 * (deploy/dev.sh) on this machine: a PostgreSQL that answers but refuses the role is said, with
 * the fix, and PGlite is used; the stub worker (the simulated engine) and Prometheus, where
 * installed, start; what needs Docker is listed; on SIGTERM nothing it started is left running.
 * The script runs the built CLI (dist/), so it is skipped, saying so, when there is no build.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../src/control/local/free-port.js";
import { waitFor } from "../helpers/wait-for.js";

const ROOT = join(import.meta.dirname, "..", "..");
const make = (args: string[], env: Record<string, string> = {}) =>
  spawnSync("make", ["--no-print-directory", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, ...env },
  });

describe("make targets that need what this machine may lack", () => {
  it("deploy-k8s says there is no cluster before kubectl's own error", () => {
    const r = make(["deploy-k8s"], { KUBECONFIG: join(tmpdir(), "tokenforge-no-such-kubeconfig") });
    expect(r.status).not.toBe(0);
    const first = r.stdout.split("\n")[0] ?? "";
    const kubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;
    if (kubectl)
      expect(first).toMatch(/^deploy-k8s: no Kubernetes cluster answers at kubectl's current context/);
    else expect(first).toBe("deploy-k8s: kubectl is not installed (https://kubernetes.io/docs/tasks/tools/)");
    expect(r.stdout + r.stderr).not.toContain("kubectl apply");
  });

  it("compose-up and images check for a Docker engine first", () => {
    const missing = make(["compose-up"], { DOCKER: "no-such-docker-client" });
    expect(missing.status).not.toBe(0);
    expect(missing.stdout).toContain(
      "no-such-docker-client is not installed: images and compose need Docker",
    );
    const engine = spawnSync("docker", ["info"], { encoding: "utf8" });
    if (engine.error === undefined && engine.status !== 0) {
      // A client without an engine (this machine): said before any build starts.
      for (const target of ["compose-up", "image-gateway"]) {
        const r = make([target]);
        expect(r.status, target).not.toBe(0);
        expect(r.stdout, target).toMatch(/^no Docker engine answers \(docker info failed\)/);
        expect(r.stdout + r.stderr, target).not.toContain("docker build");
      }
    }
  });
});

const built = existsSync(join(ROOT, "dist", "cli", "tokenforge.js"));
if (!built) console.warn("skipping the make dev test: no build (npm run build)");

describe.skipIf(!built)("make dev's script on this machine", () => {
  const dir = mkdtempSync(join(tmpdir(), "tokenforge-dev-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("falls back to PGlite on a refused role, starts the stub worker and Prometheus, and stops them", async () => {
    const [port, simPort, promPort] = [await freePort(), await freePort(), await freePort()];
    const child = spawn("bash", ["deploy/dev.sh"], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        DEV_SIM_PORT: String(simPort),
        DEV_PROMETHEUS_PORT: String(promPort),
        DEV_DATA: join(dir, "dev"),
        TOKENFORGE_DATA_DIR: join(dir, "data"),
        // PostgreSQL answers here (127.0.0.1:5432) but has no such role.
        DEV_DATABASE_URL: "postgres://tokenforge_no_such_role:x@127.0.0.1:5432/tokenforge_no_such_db",
        DEV_S3_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      out += d;
    });
    try {
      await waitFor(async () => out.includes("dev: gateway: "), {
        what: "make dev's summary",
        timeoutMs: 60_000,
        intervalMs: 200,
        detail: () => out,
      });
      const postgres = spawnSync("pg_isready", ["-h", "127.0.0.1", "-p", "5432"]).status === 0;
      if (postgres) {
        expect(out).toMatch(
          /dev: store: PostgreSQL answers but TokenForge cannot use it: (role "tokenforge_no_such_role" does not exist|password authentication failed for user "tokenforge_no_such_role")\n/,
        );
        expect(out).toContain("createuser --pwprompt tokenforge && createdb --owner tokenforge tokenforge");
      } else {
        expect(out).toContain("dev: store: embedded PGlite");
      }
      expect(out).toContain(`dev: stub worker: the simulated engine at http://127.0.0.1:${simPort}`);
      expect(out).toMatch(/dev: not running here, needs Docker or its own install:\ndev: {3}- /);
      expect(out).toContain("MinIO (make compose-up)");
      await waitFor(
        async () =>
          (await fetch(`http://127.0.0.1:${simPort}/health`).catch(() => undefined))?.status === 200,
        { what: "the stub worker", timeoutMs: 60_000, intervalMs: 250, detail: () => out },
      );
      const prometheus = spawnSync("prometheus", ["--version"]).status === 0;
      if (prometheus) {
        expect(out).toContain(`dev: Prometheus: http://127.0.0.1:${promPort}`);
        await waitFor(
          async () =>
            (await fetch(`http://127.0.0.1:${promPort}/-/ready`).catch(() => undefined))?.status === 200,
          { what: "Prometheus", timeoutMs: 60_000, intervalMs: 250, detail: () => out },
        );
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const closed = new Promise((r) => child.once("close", r));
        child.kill("SIGTERM");
        await closed;
      }
    }
    // Nothing it started is left: the ports are free again.
    for (const p of [simPort, promPort, port]) {
      await waitFor(
        async () =>
          !(await fetch(`http://127.0.0.1:${p}/`)
            .then(() => true)
            .catch(() => false)),
        {
          what: `port ${p} to be free`,
          timeoutMs: 15_000,
          intervalMs: 250,
        },
      );
    }
    expect(execFileSync("bash", ["-n", "deploy/dev.sh"], { cwd: ROOT, encoding: "utf8" })).toBe("");
  }, 180_000);
});
