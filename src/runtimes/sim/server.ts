/**
 * A simulated OpenAI-compatible server (the worker protocol, `shared/PROTOCOL.md`) with
 * configurable, seeded timing and a record of when it wrote each chunk: the ground truth the
 * benchmark harness's TTFT/ITL measurements are checked against, and a target cheap enough per
 * request to push the harness past 1,000 req/s on a small machine.
 *
 * Cheapness: plain `node:http`, no schema library, every chunk built by concatenating strings
 * precomputed at start (chunks.ts, no JSON.stringify per token), and with zero delays a whole
 * stream written synchronously under one cork.
 *
 * Prompt tokens are counted by one deterministic rule everywhere (generation usage and
 * `/tokenize`, requests.ts): the number of maximal runs of non-whitespace (JavaScript's `\s`) in
 * the prompt; for chat, summed over the messages' text content; a prompt of token ids counts its
 * ids.
 *
 * This file starts and stops the server; the routes are in routes.ts, one generation's reply in
 * generation.ts, its fixed-delay timing in delays.ts and the performance model's in engine-clock.ts.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { ChunkTexts } from "./chunks.js";
import { FixedDelays } from "./delays.js";
import { EngineClock } from "./engine-clock.js";
import type { Generation, GenerationContext } from "./generation.js";
import { type GroundTruth, GroundTruthLog } from "./ground-truth.js";
import { resolveOptions, type SimOptions } from "./options.js";
import { SimRoutes } from "./routes.js";

export type { SimOptions } from "./options.js";
export { countWords } from "./requests.js";

export interface SimServer {
  url: string;
  close(): Promise<void>;
  groundTruth(): GroundTruth[];
  clearGroundTruth(): void;
  /** Generation requests received (refused ones included). */
  readonly requests: number;
  /** Generation requests in progress. */
  readonly running: number;
}

export async function startSimServer(opts: SimOptions = {}): Promise<SimServer> {
  const o = resolveOptions(opts);
  const ctx: GenerationContext = {
    o,
    texts: new ChunkTexts(JSON.stringify(o.model), o.tokensPerChunk),
    // Seeded like every other draw in TokenForge (models/prng.ts).
    delays: new FixedDelays(o.ttftMs, o.itlMs, o.jitterMs, o.seed),
    // writeEach takes the timed path with zero delays: every chunk is its own event-loop turn.
    zeroDelay: o.ttftMs === 0 && o.itlMs === 0 && o.jitterMs === 0 && !o.writeEach && !o.perf,
    clock: o.perf ? new EngineClock<Generation>(o.perf, o.seed) : undefined,
    truth: new GroundTruthLog(o.groundTruthLimit),
    active: new Set<Generation>(),
  };
  const routes = new SimRoutes(ctx);
  const server = createServer(routes.handle);
  // Longer than any client's idle keep-alive, so the client always closes first (no reset races).
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    get requests() {
      return routes.requests;
    },
    get running() {
      return ctx.active.size;
    },
    groundTruth: () => ctx.truth.kept.slice(),
    clearGroundTruth: () => ctx.truth.clear(),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        for (const g of [...ctx.active]) g.end(performance.now(), true);
        ctx.clock?.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
