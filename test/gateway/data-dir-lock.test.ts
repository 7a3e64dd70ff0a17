/**
 * One gateway per PGlite data directory, with real `tokenforge serve` processes: a second one on
 * the same directory exits 2 naming the first one's pid while the first keeps serving; once the
 * first has stopped a new one starts; a lock file naming a pid that is gone is taken over.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCK_FILE } from "../../src/store/db/data-dir-lock.js";
import { killServe, listening, type ServeProcess, startServe } from "../helpers/serve-process.js";

let dir: string;
const gateways: ServeProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tokenforge-data-lock-"));
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => killServe(g, "SIGTERM")));
  rmSync(dir, { recursive: true, force: true });
});

function serve(dataDir: string): ServeProcess {
  const g = startServe(dataDir, dir);
  gateways.push(g);
  return g;
}

describe("the gateway's lock on its data directory", () => {
  it("refuses a second gateway on the same directory, naming the first; starts one once the first stopped", async () => {
    const dataDir = join(dir, "shared");
    const first = serve(dataDir);
    const address = await listening(first);

    const second = serve(dataDir);
    expect(await second.started).toEqual({ code: 2, signal: null });
    expect(second.stderr()).toContain(
      `the data directory ${dataDir} is in use by another gateway (pid ${first.pid}`,
    );
    expect(second.stderr()).not.toContain("gateway listening");
    // The first one is untouched.
    expect((await fetch(`${address}/health`)).status).toBe(200);

    await killServe(first, "SIGTERM");
    expect((await first.exited).code).toBe(0);
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);

    const third = serve(dataDir);
    await listening(third);
    expect(third.stderr()).not.toContain("took over");
    await killServe(third, "SIGTERM");
  }, 120_000);

  it("takes over a lock file whose pid is no longer running", async () => {
    const dataDir = join(dir, "stale");
    const gone = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await new Promise((resolve) => gone.once("exit", resolve));
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(
      join(dataDir, LOCK_FILE),
      JSON.stringify({ pid: gone.pid, host: hostname(), startedAt: new Date().toISOString() }),
    );

    const gateway = serve(dataDir);
    await listening(gateway);
    expect(gateway.stderr()).toContain(`took over the lock on ${dataDir} from pid ${gone.pid}`);
    await killServe(gateway, "SIGTERM");
  }, 120_000);
});
