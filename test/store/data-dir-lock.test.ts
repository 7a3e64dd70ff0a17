/**
 * The data directory's lock (src/store/db/data-dir-lock.ts) on real files and real pids: a live
 * owner is refused by name, a dead one (or a pid of this very process, left by an earlier one) is
 * taken over, an owner on another host is refused, and releasing removes only one's own lock.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTokenForgeError, type TokenForgeError } from "../../src/errors.js";
import { LOCK_FILE, type LockOwner, lockDataDir } from "../../src/store/db/data-dir-lock.js";

let root: string;
let count = 0;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "tokenforge-lock-"));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

const newDir = () => join(root, `data-${count++}`);

function writeLock(dir: string, owner: Partial<LockOwner> | string): void {
  const text =
    typeof owner === "string"
      ? owner
      : JSON.stringify({ host: hostname(), startedAt: "2020-01-01T00:00:00.000Z", ...owner });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, LOCK_FILE), text);
}

/** The pid of a process that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid!;
}

function refused(fn: () => unknown): TokenForgeError {
  try {
    fn();
  } catch (err) {
    if (isTokenForgeError(err)) return err;
    throw err;
  }
  throw new Error("expected the lock to be refused");
}

describe("the data directory lock", () => {
  it("creates the directory and a lock naming this process, removed on release", () => {
    const dir = newDir();
    const lock = lockDataDir(dir);
    expect(lock.path).toBe(join(dir, LOCK_FILE));
    expect(lock.tookOver).toBeUndefined();
    const owner = JSON.parse(readFileSync(lock.path, "utf8")) as LockOwner;
    expect(owner).toMatchObject({ pid: process.pid, host: hostname() });
    expect(Number.isNaN(Date.parse(owner.startedAt))).toBe(false);
    lock.release();
    expect(existsSync(lock.path)).toBe(false);
    lock.release();
  });

  it("refuses while a live process holds it, naming its pid, and leaves its lock alone", () => {
    const dir = newDir();
    // The test runner's parent process stands for a gateway that is running.
    const held = lockDataDir(dir, { pid: process.ppid });
    const err = refused(() => lockDataDir(dir));
    expect(err.code).toBe("conflict");
    expect(err.message).toContain(`in use by another gateway (pid ${process.ppid}`);
    expect(err.message).toContain(dir);
    expect(JSON.parse(readFileSync(held.path, "utf8")).pid).toBe(process.ppid);
    held.release();
    lockDataDir(dir).release();
  });

  it("takes over a lock whose process is gone, and says whose it was", async () => {
    const dir = newDir();
    const pid = await deadPid();
    writeLock(dir, { pid });
    const lock = lockDataDir(dir);
    expect(lock.tookOver?.pid).toBe(pid);
    expect(JSON.parse(readFileSync(lock.path, "utf8")).pid).toBe(process.pid);
    lock.release();
  });

  it("takes over a lock naming this process's own pid (left by an earlier process that had it)", () => {
    const dir = newDir();
    writeLock(dir, { pid: process.pid });
    const lock = lockDataDir(dir);
    expect(lock.tookOver?.pid).toBe(process.pid);
    lock.release();
  });

  it("takes over a file that is not a lock it wrote", () => {
    const dir = newDir();
    writeLock(dir, "not json");
    const lock = lockDataDir(dir);
    expect(lock.tookOver).toBeUndefined();
    expect(JSON.parse(readFileSync(lock.path, "utf8")).pid).toBe(process.pid);
    lock.release();
  });

  it("refuses a lock held from another host, whose process cannot be checked from here", async () => {
    const dir = newDir();
    writeLock(dir, { pid: await deadPid(), host: "elsewhere.example" });
    const err = refused(() => lockDataDir(dir));
    expect(err.code).toBe("conflict");
    expect(err.message).toMatch(/pid \d+ on host elsewhere\.example/);
    expect(err.message).toContain(`remove ${join(dir, LOCK_FILE)}`);
  });

  it("a release after the lock was taken over removes nothing", async () => {
    const dir = newDir();
    const pid = await deadPid();
    const old = lockDataDir(dir, { pid });
    const current = lockDataDir(dir);
    expect(current.tookOver?.pid).toBe(pid);
    old.release();
    expect(JSON.parse(readFileSync(current.path, "utf8")).pid).toBe(process.pid);
    current.release();
    expect(existsSync(current.path)).toBe(false);
  });
});
