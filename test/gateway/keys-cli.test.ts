/**
 * Keys from the command line, on real processes: `serve` refuses a non-loopback address while no
 * key exists (exit 2); `keys create|list|revoke` work on the gateway's PGlite store before it
 * runs, are refused while a gateway holds it (naming the way round), and work against the running
 * gateway with an admin key; the remote commands carry TOKENFORGE_API_KEY; and the request log
 * of `serve --log` never holds a key.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { CLI } from "../helpers/gateway.js";

const ROOT = join(import.meta.dirname, "..", "..");

describe("tokenforge keys and serve", () => {
  let dir: string;
  let dataDir: string;
  let env: Record<string, string>;
  let serve: ChildProcess | undefined;
  let log = "";

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tokenforge-keys-cli-"));
    dataDir = join(dir, "data");
    env = {
      TOKENFORGE_HOME: join(dir, "home"),
      TOKENFORGE_ARTIFACTS_DIR: join(dir, "artifacts"),
      TOKENFORGE_RESULTS_DIR: join(dir, "results"),
      TOKENFORGE_DATA_DIR: dataDir,
      DATABASE_URL: "",
      TOKENFORGE_API_KEY: "",
      TOKENFORGE_ADMIN_KEY: "",
    };
  });
  afterAll(async () => {
    if (serve && serve.exitCode === null) {
      const exited = new Promise((r) => serve!.once("exit", r));
      serve.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses to serve on 0.0.0.0 while no key exists (exit 2), before opening anything else", async () => {
    const r = await runCli(["serve", "--host", "0.0.0.0", "--port", "0"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without an API key/);
    expect(r.stderr).toMatch(/tokenforge keys create/);
  }, 200_000);

  let admin = "";
  let adminId = "";

  it("creates the first admin key on the store, printing the secret once on stdout", async () => {
    const r = await runCli(["keys", "create", "--name", "ops", "--role", "admin"], env);
    expect(r.code, r.stderr).toBe(0);
    admin = r.stdout.trim();
    expect(admin).toMatch(/^tf_[A-Za-z0-9_-]{43}$/);
    adminId = /admin key (key-[0-9a-f]+)/.exec(r.stderr)![1]!;
    const bad = await runCli(["keys", "create", "--name", "x", "--role", "root"], env);
    expect(bad.code).toBe(2);
    const list = await runCli(["keys", "list", "--json"], env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).not.toContain(admin);
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({ id: adminId, role: "admin", name: "ops" }),
    ]);
  });

  it("serves on 0.0.0.0 once a key exists; the store is then reached through the gateway only", async () => {
    serve = spawn(
      process.execPath,
      ["--import", "tsx", CLI, "serve", "--host", "0.0.0.0", "--port", "0", "--log"],
      { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    serve.stdout!.setEncoding("utf8").on("data", (d: string) => {
      log += d;
    });
    const port = await new Promise<string>((resolve, reject) => {
      serve!.stderr!.setEncoding("utf8").on("data", (d: string) => {
        stderr += d;
        const m = /gateway listening on http:\/\/\S+:(\d+)/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      serve!.once("exit", (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    const url = `http://127.0.0.1:${port}`;

    const locked = await runCli(["keys", "list"], env);
    expect(locked.code).toBe(2);
    expect(locked.stderr).toMatch(/running gateway holds its PGlite store: manage keys through it instead/);
    expect(locked.stderr).toMatch(/--server/);

    const anonymous = await runCli(["deployments", "--server", url], env);
    expect(anonymous.code).toBe(2);
    expect(anonymous.stderr).toMatch(/API key is required.*TOKENFORGE_API_KEY/);

    const made = await runCli(["keys", "create", "--server", url, "--name", "alice", "--role", "user"], {
      ...env,
      TOKENFORGE_API_KEY: admin,
    });
    expect(made.code, made.stderr).toBe(0);
    const user = made.stdout.trim();
    const userId = /user key (key-[0-9a-f]+)/.exec(made.stderr)![1]!;

    const asUser = { ...env, TOKENFORGE_API_KEY: user };
    const listed = await runCli(["deployments", "--server", url], asUser);
    expect(listed.code, listed.stderr).toBe(0);
    const denied = await runCli(["keys", "revoke", userId, "--server", url], asUser);
    expect(denied.code).toBe(2);
    expect(denied.stderr).toMatch(/needs the admin role/);
    const revoked = await runCli(["keys", "revoke", userId, "--server", url, "--api-key", admin], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(new RegExp(`${userId} \\(alice\\) revoked at`));
    const after = await runCli(["deployments", "--server", url], asUser);
    expect(after.code).toBe(2);
    expect(after.stderr).toMatch(/revoked/);

    const foreign = await request(`${url}/health`, { headers: { host: "rebound.example.com" } });
    expect(foreign.statusCode).toBe(421);
    await foreign.body.text();

    // Every request was logged, and no key with it.
    expect(log).toMatch(/"url":"\/deployments"/);
    expect(log).not.toContain(admin);
    expect(log).not.toContain(user);
    expect(log.toLowerCase()).not.toContain("bearer");
  }, 400_000);
});
