/**
 * What the gateway costs on the streaming path. A sim worker (zero delay, 64 streamed tokens per
 * reply) is deployed through `tokenforge serve`; the harness then measures, in one run, the same
 * worker directly, through the gateway, and through nginx (Debian's, one worker process,
 * unbuffered proxying with upstream keep-alive):
 *   - TTFT p50/p99 at 200 and 1,000 streaming req/s (Poisson), and what the gateway adds;
 *   - the highest streaming rate each sustains: a closed loop of 64 in flight for 8 s.
 *
 *   npm run build && npx tsx bench/gateway-overhead.ts [--seconds 5]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { request } from "undici";
import { aggregate } from "../src/bench/aggregate.js";
import { workloadOf } from "../src/bench/config.js";
import { buildPlan } from "../src/bench/plan.js";
import { calibrateWithCounter, serverCounter } from "../src/bench/prompts.js";
import { runPlan } from "../src/bench/runner.js";
import type { RequestTrace, Workload } from "../src/bench/types.js";
import { freePort } from "../src/control/local/free-port.js";
import { writeResult } from "./lib/result.js";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "5" } } });
const seconds = Number(values.seconds);
const ROOT = join(import.meta.dirname, "..");
const dir = mkdtempSync(join(tmpdir(), "tokenforge-gw-bench-"));
const children: ChildProcess[] = [];

async function until(check: () => Promise<boolean>, what: string, ms = 60_000) {
  const deadline = performance.now() + ms;
  while (!(await check().catch(() => false))) {
    if (performance.now() > deadline) throw new Error(`${what} did not come up`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

try {
  // The gateway, with a sim worker deployed through it.
  const gwPort = await freePort();
  const gateway = `http://127.0.0.1:${gwPort}`;
  children.push(
    spawn(
      process.execPath,
      [
        join(ROOT, "dist", "cli", "tokenforge.js"),
        "serve",
        "--port",
        String(gwPort),
        "--data-dir",
        join(dir, "data"),
      ],
      {
        stdio: "ignore",
        env: {
          ...process.env,
          TOKENFORGE_RESULTS_DIR: join(dir, "results"),
          TOKENFORGE_ARTIFACTS_DIR: join(dir, "artifacts"),
        },
      },
    ),
  );
  await until(async () => (await request(`${gateway}/health`)).statusCode === 200, "the gateway");
  const dep = (await (
    await request(`${gateway}/deploy`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "sim",
        runtime: "sim",
        engine_args: ["--output-tokens", "64", "--no-ground-truth"],
      }),
    })
  ).body.json()) as { id: string };
  let worker = "";
  await until(async () => {
    const d = (await (await request(`${gateway}/deployments/${dep.id}`)).body.json()) as {
      endpoints: string[];
    };
    worker = d.endpoints[0] ?? "";
    return worker !== "";
  }, "the sim deployment");

  // nginx in front of the same worker.
  const ngPort = await freePort();
  const nginx = `http://127.0.0.1:${ngPort}`;
  mkdirSync(join(dir, "nginx", "logs"), { recursive: true });
  writeFileSync(
    join(dir, "nginx", "nginx.conf"),
    `worker_processes 1;
error_log ${join(dir, "nginx", "logs", "error.log")} warn;
pid ${join(dir, "nginx", "nginx.pid")};
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${join(dir, "nginx")};
  proxy_temp_path ${join(dir, "nginx")};
  upstream worker { server ${new URL(worker).host}; keepalive 256; }
  server {
    listen 127.0.0.1:${ngPort};
    location / {
      proxy_pass http://worker;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`,
  );
  children.push(
    spawn("nginx", ["-p", join(dir, "nginx"), "-c", join(dir, "nginx", "nginx.conf"), "-g", "daemon off;"], {
      stdio: "ignore",
    }),
  );
  await until(async () => (await request(`${nginx}/health`)).statusCode === 200, "nginx");

  const target = (baseUrl: string) => ({
    baseUrl,
    model: "sim",
    endpoint: "completions" as const,
    stream: true,
  });
  const calibration = await calibrateWithCounter((await serverCounter(target(worker)))!, "server-tokenize");
  const measure = async (baseUrl: string, w: Workload) => {
    const traces: RequestTrace[] = [];
    await runPlan({
      target: target(baseUrl),
      plan: buildPlan(w, "sim", calibration),
      onTrace: (t) => traces.push(t),
    });
    return aggregate(traces, { slo: {} });
  };
  const base = {
    promptLen: { kind: "fixed", value: 32 },
    genTokens: { kind: "fixed", value: 64 },
    seed: 5,
  } as const;
  const paths = { direct: worker, gateway, nginx };
  const ttft: Record<string, Record<string, { p50: number; p99: number; ok: number }>> = {};
  for (const qps of [200, 1000]) {
    for (const [name, url] of Object.entries(paths)) {
      const m = await measure(
        url,
        workloadOf({ ...base, name: `${name}-${qps}`, qps, durationS: seconds, warmup: { requests: 200 } }),
      );
      ttft[qps] ??= {};
      ttft[qps]![name] = {
        p50: m.ttftMs?.p50 ?? Number.NaN,
        p99: m.ttftMs?.p99 ?? Number.NaN,
        ok: m.counts.ok,
      };
      console.log(
        `${qps} req/s ${name.padEnd(8)} TTFT p50 ${m.ttftMs?.p50.toFixed(3)} ms p99 ${m.ttftMs?.p99.toFixed(3)} ms  ok ${m.counts.ok}/${m.counts.total}`,
      );
    }
    const t = ttft[qps]!;
    console.log(
      `${qps} req/s: the gateway adds ${(t.gateway!.p50 - t.direct!.p50).toFixed(3)} ms at p50 and ${(t.gateway!.p99 - t.direct!.p99).toFixed(3)} ms at p99 (nginx: ${(t.nginx!.p50 - t.direct!.p50).toFixed(3)} / ${(t.nginx!.p99 - t.direct!.p99).toFixed(3)})`,
    );
  }
  const maxRate: Record<string, number> = {};
  for (const [name, url] of Object.entries(paths)) {
    const m = await measure(
      url,
      workloadOf({ ...base, name: `${name}-max`, concurrency: 64, durationS: 8, warmup: { requests: 200 } }),
    );
    maxRate[name] = m.requestThroughput ?? 0;
    console.log(`closed loop, 64 in flight: ${name.padEnd(8)} ${maxRate[name]!.toFixed(0)} req/s`);
  }
  console.log(`gateway / nginx sustained streaming rate: ${(maxRate.gateway! / maxRate.nginx!).toFixed(3)}`);
  writeResult("gateway-overhead", {
    seconds,
    ttft,
    maxRate,
    ratioGatewayToNginx: maxRate.gateway! / maxRate.nginx!,
  });
} finally {
  for (const c of children) c.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 1500));
  rmSync(dir, { recursive: true, force: true });
}
