/**
 * Resident memory of a Node process that has loaded what the worker loads before any model:
 * Fastify, prom-client and node-llama-cpp with its native binding. Run as its own process with
 * plain node on the build in dist/: prints the byte count.
 */
import { readFileSync } from "node:fs";

// The build, not the sources: a TypeScript loader would add its own memory to the figure.
const dist = (file: string) => new URL(`../../dist/worker/${file}`, import.meta.url).href;
const { buildWorkerApp } = await import(dist("app.js"));
const { EngineHolder } = await import(dist("engine-holder.js"));
const { getLlama } = await import("node-llama-cpp");
buildWorkerApp({ holder: new EngineHolder() });
const llama = await getLlama({ gpu: false, build: "never", skipDownload: true, progressLogs: false });
console.log(Number(readFileSync("/proc/self/status", "utf8").match(/^VmRSS:\s+(\d+) kB/m)?.[1]) * 1024);
await llama.dispose();
