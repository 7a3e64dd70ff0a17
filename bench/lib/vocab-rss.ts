/**
 * Resident memory llama.cpp spends on a model's vocabulary alone (loaded with vocabOnly), so the
 * worker's overhead can be split into what the tokenizer costs and what TokenForge costs.
 * Run as its own process: prints the byte count.
 */
import { readFileSync } from "node:fs";
import { getLlama } from "node-llama-cpp";

const rss = () => Number(readFileSync("/proc/self/status", "utf8").match(/^VmRSS:\s+(\d+) kB/m)?.[1]) * 1024;
const path = process.argv[2];
if (!path) throw new Error("usage: vocab-rss.ts MODEL.gguf");
const llama = await getLlama({ gpu: false, build: "never", skipDownload: true, progressLogs: false });
const before = rss();
const model = await llama.loadModel({ modelPath: path, vocabOnly: true });
console.log(rss() - before);
await model.dispose();
await llama.dispose();
