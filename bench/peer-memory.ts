/**
 * The worker's memory beside llama-server's, one server at a time: resident memory after load and
 * peak resident memory (VmHWM) after 16 streamed requests at 8 streams, for each model, with the
 * worker as it runs by default and with two settings that shrink it (glibc's MALLOC_ARENA_MAX=2,
 * Node's --max-semi-space-size=2). Same settings as bench/peer-llama-server.ts (1 thread, 16
 * sequences × 1024 tokens, batch 512), servers pinned to core 0, this client to core 1.
 *
 *   npm run build && npx tsx bench/peer-memory.ts [--models tiny,llama-100m,llama-3.2-1b]
 *     [--quant f16] [--tokens 32] [--llama-binary auto]
 *
 * Skips (exit 0, with the reason) where llama-server cannot be built or taskset is missing.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readEnv } from "../src/config.js";
import { resolveModel } from "../src/models/resolve.js";
import { ensureLlamaServer } from "./lib/llama-server.js";
import { llamaServerArgs, workerArgs } from "./lib/peer-args.js";
import { hasTaskset, type PinnedServer, pinSelf, startPinnedServer } from "./lib/pinned-server.js";
import { writeResult } from "./lib/result.js";
import { streamCompletion } from "./lib/stream.js";

const { values } = parseArgs({
  options: {
    models: { type: "string", default: "tiny,llama-100m" },
    quant: { type: "string", default: "f16" },
    tokens: { type: "string", default: "32" },
    "llama-binary": { type: "string", default: "auto" },
  },
});
const models = values.models!.split(",");
const tokens = Number(values.tokens);
const STREAMS = 8;
const PER_STREAM = 2;

if (!hasTaskset()) {
  console.log("skipped: taskset is not installed (util-linux); servers cannot be pinned");
  process.exit(0);
}
const build = ensureLlamaServer((line) => console.log(line));
if (typeof build === "string") {
  console.log(`skipped: llama-server cannot be built here: ${build}`);
  process.exit(0);
}
pinSelf("1");
const env = readEnv();
const cli = join(import.meta.dirname, "..", "dist", "cli", "tokenforge.js");
const MiB = 2 ** 20;
const SETTINGS = { threads: 1, parallel: 16, ctx: 1024, batch: 512 };

async function measure(server: PinnedServer): Promise<{ idleMiB: number; peakMiB: number }> {
  const idle = server.rssBytes();
  await Promise.all(
    Array.from({ length: STREAMS }, async (_, s) => {
      for (let i = 0; i < PER_STREAM; i++) {
        await streamCompletion(server.url, `The quick brown fox jumps over the lazy dog ${s} ${i}`, tokens);
      }
    }),
  );
  return { idleMiB: Math.round(idle / MiB), peakMiB: Math.round(server.peakRssBytes() / MiB) };
}

const figures: Record<string, Record<string, { idleMiB: number; peakMiB: number }>> = {};
for (const preset of models) {
  const model = `synthetic:${preset}?quant=${values.quant}`;
  const path = (await resolveModel(model, { cacheDir: env.modelCacheDir })).path;
  const variants: [string, () => Promise<PinnedServer>][] = [
    ["worker", () => startWorker([], {})],
    ["worker, MALLOC_ARENA_MAX=2", () => startWorker([], { MALLOC_ARENA_MAX: "2" })],
    ["worker, --max-semi-space-size=2", () => startWorker(["--max-semi-space-size=2"], {})],
    [
      "llama-server",
      () =>
        startPinnedServer({
          name: "llama-server",
          cpus: "0",
          command: build.binary,
          args: (port) => llamaServerArgs(path, port, SETTINGS),
          healthPath: "/health",
        }),
    ],
  ];
  function startWorker(nodeFlags: string[], extraEnv: Record<string, string>): Promise<PinnedServer> {
    return startPinnedServer({
      name: "worker",
      cpus: "0",
      command: process.execPath,
      args: (port) => [...nodeFlags, ...workerArgs(cli, model, port, SETTINGS, values["llama-binary"]!)],
      healthPath: "/health",
      env: { TOKENFORGE_MODEL_CACHE: env.modelCacheDir, ...extraEnv },
    });
  }
  figures[model] = {};
  for (const [name, start] of variants) {
    const server = await start();
    try {
      const m = await measure(server);
      figures[model]![name] = m;
      console.log(`${model.padEnd(34)} ${name.padEnd(34)} idle ${m.idleMiB} MiB, peak ${m.peakMiB} MiB`);
    } finally {
      await server.stop();
    }
  }
}
writeResult("peer-memory", {
  llamaServer: { release: build.release, commit: build.commit },
  settings: {
    quant: values.quant,
    tokens,
    streams: STREAMS,
    perStream: PER_STREAM,
    llamaBinary: values["llama-binary"],
  },
  figures,
});
