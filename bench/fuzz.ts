/**
 * The bad-input property at volume: generated inputs (valid, mutated, any JSON, nested past the
 * limit, not JSON, huge and exotic strings) against every request schema, counting answers by
 * status and timing each input. The property, as in test/property/: a success or a 4xx, never a
 * 5xx, never a hang (per-input time limit), and a refused request changes no state.
 *   - config: the config loader, on file text and on parsed values (in process);
 *   - worker: every POST route of a real worker (llama.cpp, synthetic:tiny) over HTTP;
 *   - gateway: every route of a real gateway (PGlite, local backend, a sim deployment) by inject().
 *
 *   npx tsx bench/fuzz.ts [--runs 10000] [--only config,worker,gateway] [--match ui/config]
 *                         [--state-every 1] [--seed N]
 *
 * `--match TEXT` runs only the schemas whose name contains it. `--state-every K` compares the state around every K-th input (1: all; more is faster). A
 * failing input stops its schema and is printed; the exit status is 1 when any failed.
 */
import { parseArgs } from "node:util";
import fc from "fast-check";
import { simRuntime } from "../src/runtimes/sim/index.js";
import { echoRuntime } from "../test/fixtures/runtimes/echo/index.js";
import { SELF, startTestGateway } from "../test/helpers/gateway.js";
import { waitFor } from "../test/helpers/wait-for.js";
import { startTestWorker } from "../test/helpers/worker.js";
import { configChecks, configTexts, configValues } from "../test/property/config-schemas.js";
import { checkGatewayInput, gatewayRoutes, SIM_MODEL } from "../test/property/gateway-schemas.js";
import { checkWorkerInput, workerRoutes } from "../test/property/worker-schemas.js";
import { writeResult } from "./lib/result.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "10000" },
    only: { type: "string", default: "config,worker,gateway" },
    "state-every": { type: "string", default: "1" },
    seed: { type: "string" },
    match: { type: "string" },
  },
});
const runs = Number(values.runs);
const only = new Set(values.only.split(","));
const stateEvery = Math.max(1, Number(values["state-every"]));
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);

interface Figure {
  schema: string;
  inputs: number;
  statuses: Record<string, number>;
  seconds: number;
  slowestMs: number;
  failure?: string | undefined;
  spots?: unknown[];
}
const figures: Figure[] = [];

/** Runs `count` inputs of one schema through `check`, counting outcomes; stops at the first failure. */
async function fuzz<T>(
  schema: string,
  inputs: fc.Arbitrary<T>,
  check: (input: T, i: number) => Promise<string | number> | string | number,
): Promise<void> {
  if (values.match !== undefined && !values.match.split(",").some((m) => schema.includes(m))) return;
  const statuses: Record<string, number> = {};
  let slowestMs = 0;
  let done = 0;
  let failure: string | undefined;
  const t0 = performance.now();
  for (const input of fc.sample(inputs, { numRuns: runs, seed: seed + figures.length })) {
    const s = performance.now();
    try {
      const outcome = String(await check(input, done));
      statuses[outcome] = (statuses[outcome] ?? 0) + 1;
    } catch (err) {
      failure = (err as Error).message.slice(0, 2000);
      break;
    } finally {
      slowestMs = Math.max(slowestMs, performance.now() - s);
      done++;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  figures.push({ schema, inputs: done, statuses, seconds, slowestMs, ...(failure ? { failure } : {}) });
  console.log(
    `${schema}: ${done} inputs in ${seconds.toFixed(1)} s, slowest ${slowestMs.toFixed(0)} ms, ${JSON.stringify(statuses)}${failure ? `\n  FAILED: ${failure}` : ""}`,
  );
}

if (only.has("config")) {
  await fuzz("config file text", configTexts(), (i) => configChecks.text(i));
  await fuzz("config value (request body)", configValues(), (v) => configChecks.value(v));
}

if (only.has("worker")) {
  const worker = await startTestWorker({ parallel: 2, contextLength: 256 });
  try {
    for (const route of workerRoutes(worker.holder.engine!.info.model)) {
      await fuzz(
        `worker POST ${route.path}`,
        route.inputs,
        async (input, i) =>
          (
            await checkWorkerInput(worker.url, route, input, {
              timeoutMs: 30_000,
              checkState: i % stateEvery === 0,
            })
          ).status,
      );
    }
  } finally {
    await worker.close();
  }
}

if (only.has("gateway")) {
  const t = await startTestGateway({ name: "fuzz", runtimes: [simRuntime(SELF), echoRuntime()] });
  try {
    const res = await t.gateway.app.inject({
      method: "POST",
      url: "/deploy",
      payload: { model: SIM_MODEL, runtime: "sim" },
    });
    const id = (res.json() as { id: string }).id;
    await waitFor(
      async () => {
        const d = (await t.gateway.app.inject({ method: "GET", url: `/deployments/${id}` })).json() as {
          status: string;
        };
        return d.status === "ready" ? d : undefined;
      },
      { what: "the sim deployment to be ready", timeoutMs: 120_000, intervalMs: 200 },
    );
    // The worst cases found by hand before the limits existed, timed one by one.
    const key = "k".repeat(1_000_000);
    const named: [string, string, string, string][] = [
      [
        "1 MB unknown key",
        "/benchmarks/run",
        "application/json",
        JSON.stringify({ model: "m", runtimes: ["sim"], workloads: [{}], [key]: 1 }),
      ],
      [
        "1 MB unknown key",
        "/deploy",
        "application/json",
        JSON.stringify({ model: "m", runtime: "sim", [key]: 1 }),
      ],
      [
        "JSON nested 5,000 deep",
        "/benchmarks/run",
        "application/json",
        `{"model":"m","runtimes":["sim"],"workloads":${"[".repeat(5000)}${"]".repeat(5000)}}`,
      ],
      [
        "YAML alias bomb (9^6)",
        "/ui/config",
        "text/plain",
        [
          "a: &a [x,x,x,x,x,x,x,x,x]",
          ..."bcdef".split("").map((c, i) => `${c}: &${c} [${Array(9).fill(`*${"abcdef"[i]}`).join(",")}]`),
        ].join("\n"),
      ],
    ];
    const spots = [];
    for (const [what, url, contentType, payload] of named) {
      const t0 = performance.now();
      const r = await t.gateway.app.inject({
        method: "POST",
        url,
        payload,
        headers: { "content-type": contentType },
      });
      const ms = performance.now() - t0;
      spots.push({ what, url, status: r.statusCode, ms, bodyBytes: r.body.length });
      console.log(`${what} on ${url}: ${r.statusCode} in ${ms.toFixed(0)} ms, ${r.body.length} bytes`);
    }
    figures.push({
      schema: "named worst cases",
      inputs: spots.length,
      statuses: {},
      seconds: 0,
      slowestMs: Math.max(...spots.map((x) => x.ms)),
      failure: undefined,
      spots,
    } as Figure);
    for (const route of gatewayRoutes()) {
      await fuzz(
        `gateway ${route.method} ${route.path}`,
        route.inputs,
        async (input) => (await checkGatewayInput(t, route, input, { timeoutMs: 30_000 })).status,
      );
    }
  } finally {
    await t.close();
  }
}

writeResult("fuzz", { runsPerSchema: runs, seed, stateEvery, figures });
if (figures.some((f) => f.failure !== undefined)) process.exitCode = 1;
