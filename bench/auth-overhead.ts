/**
 * What the gateway's access check costs a request: the same cheap route (`GET /deployments`,
 * answered from memory) on two gateways in this process, one serving without keys and one
 * checking a Bearer key (SHA-256, a map lookup, the role, the key's rate bucket), over real HTTP on
 * loopback. Rounds alternate between the two so that the machine's drift hits both alike; the
 * figure is the ratio of their median round trips. Also timed alone: one key check (`identify`).
 *
 *   npx tsx bench/auth-overhead.ts [--requests 2000] [--rounds 6]
 */
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { percentile } from "../src/bench/stats.js";
import { createApiKey } from "../src/gateway/api-keys.js";
import { buildGateway, type Gateway } from "../src/gateway/app.js";
import { Deployments } from "../src/gateway/deployments.js";
import { RuntimeRegistry } from "../src/runtimes/registry.js";
import type { Store } from "../src/spec/store.js";
import { FsArtifactStore } from "../src/store/artifacts/index.js";
import { openStore } from "../src/store/db/open.js";
import { writeResult } from "./lib/result.js";

const { values } = parseArgs({
  options: { requests: { type: "string", default: "2000" }, rounds: { type: "string", default: "6" } },
});
const REQUESTS = Number(values.requests);
const ROUNDS = Number(values.rounds);

async function gateway(): Promise<{ g: Gateway; store: Store; url: string }> {
  const store = await openStore({ dataDir: "memory://" });
  const runtimes = new RuntimeRegistry([]);
  const g = await buildGateway({
    store,
    deployments: new Deployments(store, {}, runtimes),
    runtimes,
    artifacts: new FsArtifactStore("/tmp/tokenforge-auth-bench"),
    resultsDir: "/tmp/tokenforge-auth-bench",
    // The rate limit is not what is measured: high enough never to refuse.
    auth: { limits: { ratePerSecond: 1e9, burst: 1e9 } },
  });
  const url = await g.app.listen({ host: "127.0.0.1", port: 0 });
  return { g, store, url };
}

const open = await gateway();
const keyed = await gateway();
const { secret } = await createApiKey(keyed.store, "bench", "user");
await keyed.g.keys.reload();

async function round(url: string, headers: Record<string, string>): Promise<number[]> {
  const pool = new Pool(url, { connections: 1 });
  const times: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const t = performance.now();
    const res = await pool.request({ method: "GET", path: "/deployments", headers });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`answered ${res.statusCode}`);
    times.push(performance.now() - t);
  }
  await pool.close();
  return times;
}

const samples = { open: [] as number[], keyed: [] as number[] };
// One warm-up round each, not counted.
await round(open.url, {});
await round(keyed.url, { authorization: `Bearer ${secret}` });
for (let r = 0; r < ROUNDS; r++) {
  samples.open.push(...(await round(open.url, {})));
  samples.keyed.push(...(await round(keyed.url, { authorization: `Bearer ${secret}` })));
}
const stats = (xs: number[]) => {
  const s = Float64Array.from(xs).sort();
  return { p50: percentile(s, 50)!, p99: percentile(s, 99)! };
};
// The key check alone, without HTTP: SHA-256 of the secret and the lookup, many times over.
const CHECKS = 100_000;
const t0 = performance.now();
for (let i = 0; i < CHECKS; i++) keyed.g.keys.identify(secret);
const identifyUs = ((performance.now() - t0) * 1000) / CHECKS;
const figures = {
  identifyMicroseconds: identifyUs,
  requestsPerSide: REQUESTS * ROUNDS,
  openMs: stats(samples.open),
  keyedMs: stats(samples.keyed),
  medianRatio: stats(samples.keyed).p50 / stats(samples.open).p50,
};
console.log(JSON.stringify(figures, null, 2));
writeResult("auth-overhead", figures);
for (const s of [open, keyed]) {
  await s.g.app.close();
  await s.g.close();
  await s.store.close();
}
