/**
 * Starts the simulated OpenAI-compatible server (src/runtimes/sim) as a child process, so its
 * timers and writes run on their own CPU and event loop rather than the test's, and reads back
 * its ground truth over HTTP.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { request } from "undici";
import type { GroundTruth } from "../../src/runtimes/sim/ground-truth.js";
import type { PerfModelFile } from "../../src/runtimes/sim/perf-model.js";
import type { SimOptions } from "../../src/runtimes/sim/server.js";

export type { GroundTruth };

const ROOT = join(import.meta.dirname, "..", "..");

/** The server's own options that its command line takes (src/runtimes/sim/cli.ts), as flags. */
export type SimChildOptions = Pick<
  SimOptions,
  | "ttftMs"
  | "itlMs"
  | "jitterMs"
  | "outputTokens"
  | "tokensPerChunk"
  | "seed"
  | "model"
  | "leadingEmptyChunk"
  | "usageSkew"
  | "reasoningTokens"
  | "errorEvery"
  | "maxModelLen"
> & {
  noGroundTruth?: boolean;
  /** A performance model file's contents (perf-model.ts), passed inline as `--perf JSON`. */
  perf?: PerfModelFile;
};

export interface SimChild {
  url: string;
  pid: number;
  groundTruth(): Promise<GroundTruth[]>;
  clearGroundTruth(): Promise<void>;
  /** Generation requests the server received (refused ones included), from its /metrics. */
  requests(): Promise<number>;
  stop(): Promise<void>;
}

function flags(o: SimChildOptions): string[] {
  const args = ["--port", "0"];
  const num = (name: string, v: number | undefined) => {
    if (v !== undefined) args.push(`--${name}`, String(v));
  };
  num("ttft-ms", o.ttftMs);
  num("itl-ms", o.itlMs);
  num("jitter-ms", o.jitterMs);
  num("output-tokens", o.outputTokens);
  num("tokens-per-chunk", o.tokensPerChunk);
  num("seed", o.seed);
  num("usage-skew", o.usageSkew);
  num("reasoning-tokens", o.reasoningTokens);
  num("error-every", o.errorEvery);
  num("max-model-len", o.maxModelLen);
  if (o.model !== undefined) args.push("--model", o.model);
  if (o.leadingEmptyChunk) args.push("--leading-empty-chunk");
  if (o.noGroundTruth) args.push("--no-ground-truth");
  if (o.perf !== undefined) args.push("--perf", JSON.stringify(o.perf));
  return args;
}

/**
 * Spawns `node --import tsx src/runtimes/sim/main.ts --port 0 ...` (one process: what
 * `node_modules/.bin/tsx` would run, without tsx's relaying parent) and waits for its
 * `{"url":...}` line.
 */
export async function startSimChild(options: SimChildOptions = {}): Promise<SimChild> {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "src", "runtimes", "sim", "main.ts"), ...flags(options)],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`sim did not start within 30 s: ${stderr}`));
    }, 30_000);
    child.stdout?.setEncoding("utf8");
    const onData = (d: string) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl === -1) return;
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      try {
        resolve((JSON.parse(out.slice(0, nl)) as { url: string }).url);
      } catch (err) {
        reject(new Error(`sim printed ${JSON.stringify(out)}: ${(err as Error).message}`));
      }
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`sim exited (${code ?? signal}) before listening: ${stderr}`));
    });
  });

  const get = async (path: string, method: "GET" | "DELETE" = "GET"): Promise<string> => {
    const res = await request(`${url}${path}`, { method });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`);
    return text;
  };

  return {
    url,
    pid: child.pid ?? 0,
    groundTruth: async () => JSON.parse(await get("/sim/ground-truth")) as GroundTruth[],
    clearGroundTruth: async () => {
      await get("/sim/ground-truth", "DELETE");
    },
    requests: async () => {
      const m = /^sim_requests_total (\d+)$/m.exec(await get("/metrics"));
      if (!m) throw new Error("sim /metrics has no sim_requests_total");
      return Number(m[1]);
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Ground truth by request id (the harness sends `x-request-id: <prefix>-<index>`). */
export function byId(records: readonly GroundTruth[]): Map<string, GroundTruth> {
  return new Map(records.map((r) => [r.id, r]));
}
