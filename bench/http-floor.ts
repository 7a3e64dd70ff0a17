/**
 * The floor under any TTFT measurement on this machine: the round trip between two Node processes
 * over loopback, raw TCP and undici → node:http. A client's TTFT includes one such round trip
 * that a server's own timing cannot see, so it bounds how closely the two can agree.
 *
 *   npx tsx bench/http-floor.ts
 */
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { Pool } from "undici";
import { percentile } from "../src/bench/stats.js";
import { writeResult } from "./lib/result.js";

async function child(code: string): Promise<{ port: number; stop: () => void }> {
  const p = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  const port = Number(await new Promise<string>((r) => p.stdout.once("data", (d) => r(String(d)))));
  return { port, stop: () => p.kill() };
}

const summary = (xs: number[]) => {
  const s = Float64Array.from(xs).sort();
  return {
    p50: percentile(s, 50) ?? Number.NaN,
    p90: percentile(s, 90) ?? Number.NaN,
    p99: percentile(s, 99) ?? Number.NaN,
  };
};
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const N = 1000;

// Raw TCP echo.
const echo = await child(
  `require("net").createServer(s=>{s.setNoDelay(true);s.on("data",d=>s.write(d))}).listen(0,"127.0.0.1",function(){console.log(this.address().port)})`,
);
const sock = connect(echo.port, "127.0.0.1");
sock.setNoDelay(true);
await new Promise((r) => sock.once("connect", r));
const tcp: number[] = [];
for (let i = 0; i < N; i++) {
  const t = performance.now();
  sock.write("x");
  await new Promise((r) => sock.once("data", r));
  tcp.push(performance.now() - t);
  await pause(2);
}
sock.destroy();
echo.stop();

// undici dispatch → node:http server that answers headers at once.
const http = await child(
  `const s=require("http").createServer((q,r)=>{q.resume();q.on("end",()=>{r.writeHead(200,{"content-type":"text/event-stream"});r.flushHeaders();setTimeout(()=>r.end("data: [DONE]\\n\\n"),1)})});s.listen(0,"127.0.0.1",()=>console.log(s.address().port))`,
);
const pool = new Pool(`http://127.0.0.1:${http.port}`, { connections: null });
const toWrite: number[] = [];
const toHeaders: number[] = [];
const writeToHeaders: number[] = [];
for (let i = 0; i < N; i++) {
  const t0 = performance.now();
  let tWrite = 0;
  let tHead = 0;
  await new Promise<void>((done, fail) =>
    pool.dispatch(
      { path: "/", method: "POST", body: "x".repeat(400), headers: { "content-type": "application/json" } },
      {
        onRequestStart: () => {
          tWrite = performance.now();
        },
        onResponseStart: () => {
          tHead = performance.now();
        },
        onResponseData: () => {},
        onResponseEnd: () => done(),
        onResponseError: (_c, e) => fail(e),
      },
    ),
  );
  if (i >= 50) {
    toWrite.push(tWrite - t0);
    toHeaders.push(tHead - t0);
    writeToHeaders.push(tHead - tWrite);
  }
  await pause(2);
}
await pool.close();
http.stop();

const figures = {
  tcpRoundTripMs: summary(tcp),
  undiciDispatchToWriteMs: summary(toWrite),
  undiciWriteToHeadersMs: summary(writeToHeaders),
  undiciDispatchToHeadersMs: summary(toHeaders),
};
const f = (s: { p50: number; p90: number; p99: number }) =>
  `p50 ${s.p50.toFixed(3)}  p90 ${s.p90.toFixed(3)}  p99 ${s.p99.toFixed(3)} ms`;
console.log(`raw TCP round trip:                      ${f(figures.tcpRoundTripMs)}`);
console.log(`undici dispatch → socket write:          ${f(figures.undiciDispatchToWriteMs)}`);
console.log(`undici socket write → response headers:  ${f(figures.undiciWriteToHeadersMs)}`);
writeResult("http-floor", figures);
