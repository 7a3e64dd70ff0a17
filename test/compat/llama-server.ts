/**
 * llama.cpp's own `llama-server`, the real one, where it has been built on this machine: from
 * `TOKENFORGE_LLAMA_SERVER` (the binary's path), else from the build cache TokenForge's peer
 * benchmark fills (`~/.cache/tokenforge/llama-server/<commit>/build/bin/llama-server`, built from
 * the llama.cpp source node-llama-cpp ships). Absent, the rows that need it are skipped with the
 * reason printed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import { resolveModel } from "../../src/models/resolve.js";
import { waitFor } from "../helpers/wait-for.js";
import { TEST_CACHE_DIR } from "../helpers/worker.js";

export type Found = { path: string } | { reason: string };

/** Where the llama-server binary is, or why there is none. */
export function findLlamaServer(env: NodeJS.ProcessEnv = process.env): Found {
  const named = env.TOKENFORGE_LLAMA_SERVER;
  if (named !== undefined && named !== "") {
    return existsSync(named)
      ? { path: named }
      : { reason: `TOKENFORGE_LLAMA_SERVER=${named} does not exist` };
  }
  const cache = join(homedir(), ".cache", "tokenforge", "llama-server");
  const builds = existsSync(cache) ? readdirSync(cache) : [];
  for (const dir of builds) {
    const bin = join(cache, dir, "build", "bin", "llama-server");
    if (existsSync(bin)) return { path: bin };
  }
  return {
    reason:
      `no llama-server binary: set TOKENFORGE_LLAMA_SERVER, or build one into ${cache}/<commit>/build/bin ` +
      "(the peer benchmark bench/peer-llama-server.ts builds it from node-llama-cpp's llama.cpp source)",
  };
}

export interface LlamaServer {
  url: string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts llama-server on synthetic:tiny (4 slots, one thread) and waits for `/health` 200. */
export async function startLlamaServer(binary: string): Promise<LlamaServer> {
  const model = await resolveModel("synthetic:tiny", { cacheDir: TEST_CACHE_DIR });
  const port = await freePort();
  const child: ChildProcess = spawn(
    binary,
    [
      "-m",
      model.path,
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "-c",
      "4096",
      "-np",
      "4",
      "-t",
      "1",
      "--metrics",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const close = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`llama-server exited (${child.exitCode}): ${stderr}`);
        const res = await fetch(`${url}/health`).catch(() => undefined);
        await res?.body?.cancel();
        return res?.status === 200;
      },
      { what: "llama-server to be ready", timeoutMs: 60_000, detail: () => stderr.slice(-500) },
    );
  } catch (err) {
    await close();
    throw err;
  }
  return { url, close };
}
