/**
 * The simulated server's command line, shared by its own entry (main.ts) and `tokenforge sim`.
 * Runs the simulated server as its own process: `node dist/runtimes/sim/main.js [flags]` (or
 * `tsx src/runtimes/sim/main.ts`). Prints exactly one line, `{"url":"http://HOST:PORT"}`, once
 * listening; exits 0 on SIGTERM/SIGINT, 2 on a bad flag (the message names it).
 */
import { parseArgs } from "node:util";
import { loadPerfModel } from "./perf-model.js";
import { type SimOptions, startSimServer } from "./server.js";

const USAGE = `Usage: sim [flags]
  --host H               listen address (default 127.0.0.1)
  --port N               port, 0 for an ephemeral one (default 0)
  --ttft-ms MS           delay before the first content chunk (default 0)
  --itl-ms MS            delay between content chunks (default 0)
  --jitter-ms MS         uniform +- jitter on each delay, seeded (default 0)
  --output-tokens N      tokens per reply (default: the request's max_tokens, else 16)
  --tokens-per-chunk N   tokens per content chunk (default 1)
  --seed N               seed of the jitter, fixed delays or --perf (default 0)
  --model ID             model id served (default sim)
  --leading-empty-chunk  send empty/role/reasoning-only chunks before the first token
  --usage-skew N         add N to the completion_tokens reported in usage (default 0)
  --reasoning-tokens N   chat streams: the first N tokens of a reply as reasoning_content deltas
  --error-every N        answer every Nth generation request with a 500
  --max-model-len N      context length (default 131072)
  --no-ground-truth      keep no ground-truth records (for throughput runs)
  --write-each           with zero delays, write each chunk in its own event-loop turn
  --perf FILE|JSON       time tokens by a performance model (continuous batching, max batch,
                         KV cache, queueing): a JSON/YAML file or inline JSON; excludes the
                         fixed delays. \`tokenforge sim fit\` writes one from a measured run.
`;

class FlagError extends Error {}

type Kind = "ms" | "count" | "int" | "port";

function numberFlag(values: Record<string, unknown>, name: string, kind: Kind): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const s = String(raw).trim();
  const x = s === "" ? Number.NaN : Number(s);
  const ok =
    Number.isFinite(x) &&
    (kind === "ms"
      ? x >= 0
      : Number.isInteger(x) &&
        (kind === "count" ? x >= 1 : kind === "port" ? x >= 0 && x <= 65535 : Number.isSafeInteger(x)));
  if (!ok) {
    const want = {
      ms: "a number of milliseconds >= 0",
      count: "an integer >= 1",
      int: "an integer",
      port: "an integer port in 0..65535",
    }[kind];
    throw new FlagError(`--${name} must be ${want}, got ${JSON.stringify(raw)}`);
  }
  return x;
}

function parseSimArgs(argv: string[]): SimOptions | "help" {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        "ttft-ms": { type: "string" },
        "itl-ms": { type: "string" },
        "jitter-ms": { type: "string" },
        "output-tokens": { type: "string" },
        "tokens-per-chunk": { type: "string" },
        seed: { type: "string" },
        model: { type: "string" },
        "leading-empty-chunk": { type: "boolean" },
        "usage-skew": { type: "string" },
        "reasoning-tokens": { type: "string" },
        "error-every": { type: "string" },
        "max-model-len": { type: "string" },
        "no-ground-truth": { type: "boolean" },
        "write-each": { type: "boolean" },
        perf: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    throw new FlagError((err as Error).message);
  }
  if (values.help) return "help";
  if (values.host !== undefined && String(values.host).trim() === "")
    throw new FlagError("--host must not be empty");
  if (values.model !== undefined && String(values.model) === "")
    throw new FlagError("--model must not be empty");
  const opts: SimOptions = {
    host: values.host as string | undefined,
    port: numberFlag(values, "port", "port"),
    ttftMs: numberFlag(values, "ttft-ms", "ms"),
    itlMs: numberFlag(values, "itl-ms", "ms"),
    jitterMs: numberFlag(values, "jitter-ms", "ms"),
    outputTokens: numberFlag(values, "output-tokens", "count"),
    tokensPerChunk: numberFlag(values, "tokens-per-chunk", "count"),
    seed: numberFlag(values, "seed", "int"),
    model: values.model as string | undefined,
    leadingEmptyChunk: values["leading-empty-chunk"] === true,
    usageSkew: numberFlag(values, "usage-skew", "int"),
    reasoningTokens: numberFlag(values, "reasoning-tokens", "ms"),
    errorEvery: numberFlag(values, "error-every", "count"),
    maxModelLen: numberFlag(values, "max-model-len", "count"),
    recordGroundTruth: values["no-ground-truth"] !== true,
    writeEach: values["write-each"] === true,
  };
  if (values.perf !== undefined) {
    try {
      opts.perf = loadPerfModel(String(values.perf));
    } catch (err) {
      throw new FlagError(`--perf: ${(err as Error).message}`);
    }
    for (const flag of ["ttft-ms", "itl-ms", "jitter-ms", "tokens-per-chunk"])
      if (values[flag] !== undefined)
        throw new FlagError(`--${flag} cannot be combined with --perf (the model times tokens)`);
  }
  return opts;
}

/** Parses flags, serves until SIGTERM/SIGINT; prints `{"url": …}` once listening. */
export async function runSim(argv: string[]): Promise<void> {
  let opts: SimOptions | "help";
  try {
    opts = parseSimArgs(argv);
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    process.stderr.write(`sim: ${err.message}\n${USAGE}`);
    process.exit(2);
  }
  if (opts === "help") {
    process.stdout.write(USAGE);
    return;
  }
  let server: Awaited<ReturnType<typeof startSimServer>>;
  try {
    server = await startSimServer(opts);
  } catch (err) {
    process.stderr.write(`sim: cannot start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
}
