/**
 * One gateway per PGlite data directory. A data directory may be open in one process at a time,
 * and a gateway restarts every stored deployment, so two on one directory would corrupt it and
 * run every worker twice. `lockDataDir` takes the directory's lock file (`gateway.lock`, holding
 * the owner's pid, host and start time) or refuses, naming the owner; a lock whose owner is no
 * longer alive on this host is stale and taken over.
 *
 * The file is created atomically (written aside, then hard-linked into place, which fails when it
 * exists), so two gateways starting at once cannot both take it; a stale one is moved aside
 * before it is replaced, and only the process that moved it replaces it.
 */
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { TokenForgeError } from "../../errors.js";

/** The lock file's name inside the data directory. */
export const LOCK_FILE = "gateway.lock";

/** Who holds a lock: what the lock file says. */
export interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
}

export interface DataDirLock {
  /** The lock file. */
  readonly path: string;
  /** Whether an earlier owner's stale lock was taken over, and whose it was. */
  readonly tookOver: LockOwner | undefined;
  /** Removes the lock file if it is still this process's; safe to call more than once. */
  release(): void;
}

export interface LockOptions {
  /** This process's pid (default `process.pid`). */
  pid?: number;
  /** This host's name (default `os.hostname()`). */
  host?: string;
}

const ATTEMPTS = 5;

/**
 * Takes the lock on `dataDir` (created when missing) for this process. Throws a `conflict`
 * TokenForgeError naming the owner's pid when a live process on this host holds it, or a process
 * on another host (whose liveness cannot be checked from here).
 */
export function lockDataDir(dataDir: string, options: LockOptions = {}): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  const me: LockOwner = {
    pid: options.pid ?? process.pid,
    host: options.host ?? hostname(),
    startedAt: new Date().toISOString(),
  };
  const text = `${JSON.stringify(me)}\n`;
  let tookOver: LockOwner | undefined;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (create(path, text, me.pid)) {
      let released = false;
      return {
        path,
        tookOver,
        release() {
          if (released) return;
          released = true;
          if (readText(path) === text) unlinkQuietly(path);
        },
      };
    }
    const held = readText(path);
    if (held === undefined) continue; // released meanwhile: try again
    const owner = parseOwner(held);
    if (owner !== undefined && !stale(owner, me)) throw inUse(dataDir, path, owner, me.host);
    if (takeOver(path, held, me.pid)) tookOver = owner;
  }
  throw new TokenForgeError(
    "conflict",
    `could not take the lock on the data directory ${dataDir}: other processes keep changing ${path}`,
  );
}

/** Creates the lock file with `text` unless it exists. */
function create(path: string, text: string, pid: number): boolean {
  const aside = `${path}.${pid}.new`;
  writeFileSync(aside, text);
  try {
    linkSync(aside, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new TokenForgeError("io_error", `cannot create the lock file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    unlinkQuietly(aside);
  }
}

/**
 * Removes a stale lock that reads `held`: moves it aside first, so that of several processes
 * taking it over at once only one removes it. True when it was this one.
 */
function takeOver(path: string, held: string, pid: number): boolean {
  const aside = `${path}.${pid}.stale`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false; // someone else moved it
    throw err;
  }
  if (readText(aside) !== held) {
    // Another process replaced the stale lock with its own in between: give it back.
    try {
      linkSync(aside, path);
    } catch {
      // A third one holds it now; it stays theirs.
    }
    unlinkQuietly(aside);
    return false;
  }
  unlinkQuietly(aside);
  return true;
}

/** An owner is stale when it ran on this host and is gone (or is this very process's pid, reused). */
function stale(owner: LockOwner, me: LockOwner): boolean {
  if (owner.host !== me.host) return false;
  if (owner.pid === me.pid) return true;
  return !alive(owner.pid);
}

/** False once the process is gone; a zombie nobody has reaped yet counts as gone. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  if (process.platform !== "linux") return true;
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return false;
  // The state letter follows the parenthesised command name.
  return stat.charAt(stat.lastIndexOf(")") + 2) !== "Z";
}

function inUse(dataDir: string, path: string, owner: LockOwner, host: string): TokenForgeError {
  const where = owner.host === host ? "" : ` on host ${owner.host}`;
  const remedy =
    owner.host === host
      ? `stop it or serve another --data-dir (if pid ${owner.pid} is not a TokenForge gateway, remove ${path})`
      : `stop it or serve another --data-dir (if it is gone, remove ${path})`;
  return new TokenForgeError(
    "conflict",
    `the data directory ${dataDir} is in use by another gateway (pid ${owner.pid}${where}, started ${owner.startedAt}): ${remedy}`,
  );
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (Number.isInteger(o.pid) && typeof o.host === "string" && typeof o.startedAt === "string")
      return o as LockOwner;
  } catch {
    // Not a lock this code wrote: treated as stale.
  }
  return undefined;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already.
  }
}
