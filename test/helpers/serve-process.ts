/**
 * A real `tokenforge serve` child process for tests: started from the sources under tsx on a free
 * port, with its data, artifacts and results in the directories given, never PostgreSQL.
 * `started` settles with its address once it listens, or with its exit when it ends first (a
 * refused start).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { CLI } from "./gateway.js";

const ROOT = join(import.meta.dirname, "..", "..");

export interface ServeProcess {
  child: ChildProcess;
  readonly pid: number;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Its address once it listens, or how it ended when it ended first. */
  started: Promise<{ address: string } | { code: number | null; signal: NodeJS.Signals | null }>;
  /** Settles when it has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startServe(dataDir: string, workDir: string): ServeProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TOKENFORGE_HOME: join(workDir, "home"),
    TOKENFORGE_ARTIFACTS_DIR: join(workDir, "artifacts"),
    TOKENFORGE_RESULTS_DIR: join(workDir, "results"),
    TOKENFORGE_MODEL_CACHE: join(ROOT, ".tokenforge", "test-models"),
  };
  delete env.DATABASE_URL;
  const child = spawn(
    process.execPath,
    ["--import", "tsx", CLI, "serve", "--port", "0", "--data-dir", dataDir],
    { cwd: ROOT, env, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  const started = new Promise<{ address: string } | { code: number | null; signal: NodeJS.Signals | null }>(
    (resolve) => {
      child.stderr?.setEncoding("utf8").on("data", (d: string) => {
        stderr += d;
        const m = /gateway listening on (http:\/\/\S+)/.exec(stderr);
        if (m) resolve({ address: m[1]! });
      });
      void exited.then(resolve);
    },
  );
  if (child.pid === undefined) throw new Error("could not spawn tokenforge serve");
  return { child, pid: child.pid, stderr: () => stderr, started, exited };
}

/** The address of a gateway that must start; its stderr in the error when it does not. */
export async function listening(serve: ServeProcess): Promise<string> {
  const s = await serve.started;
  if ("address" in s) return s.address;
  throw new Error(`tokenforge serve ended (${JSON.stringify(s)}) instead of listening:\n${serve.stderr()}`);
}

/** Kills the gateway if it still runs, and waits for its exit. */
export async function killServe(serve: ServeProcess, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  if (serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill(signal);
  await serve.exited;
}
