/**
 * The integration check that matters: llama.cpp (through node-llama-cpp's prebuilt binaries)
 * accepts our files — vocabulary, merges, pre-tokenizer, tensor shapes and types — tokenizes like
 * cl100k_base, and evaluates.
 */
import { rm } from "node:fs/promises";
import { encode } from "gpt-tokenizer/encoding/cl100k_base";
import { getLlama, type Llama, LlamaLogLevel, resolveChatWrapper } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QUANTS } from "../../src/models/quantize.js";
import { resolveModel } from "../../src/models/resolve.js";
import { CL100K_SIZE } from "../../src/models/vocab.js";
import { ENGLISH_PARAGRAPHS } from "./english.js";
import { makeTempDir } from "./helpers.js";

let llama: Llama;
let cacheDir = "";

beforeAll(async () => {
  cacheDir = await makeTempDir();
  llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.warn });
});

afterAll(async () => {
  await llama?.dispose();
  await rm(cacheDir, { recursive: true, force: true });
});

const TEXTS = [
  "Hello world",
  ...ENGLISH_PARAGRAPHS,
  "It's 2024 and they'll say we've done 1234567 things, DON'T they?",
  "def add(a, b):\n    return a + b  # sum\n\n\tdone",
  "Unicode: café, 東京, Привет мир, 🚀.",
];

describe("llama.cpp loads synthetic models", () => {
  it("tokenizes tiny's vocabulary exactly as cl100k_base and evaluates tokens", async () => {
    const resolved = await resolveModel("synthetic:tiny", { cacheDir });
    const model = await llama.loadModel({ modelPath: resolved.path });
    try {
      for (const text of TEXTS) {
        const ids = [...model.tokenize(text)];
        expect(ids).toEqual(encode(text));
        expect(model.detokenize(model.tokenize(text))).toBe(text);
      }
      expect(model.tokens.bos).toBe(CL100K_SIZE);
      expect(model.tokens.eos).toBe(CL100K_SIZE + 1);
      expect([...model.tokenize("<|start_header_id|>user<|end_header_id|>", true)]).toEqual([
        CL100K_SIZE + 6,
        ...encode("user"),
        CL100K_SIZE + 7,
      ]);
      expect(resolveChatWrapper(model)?.wrapperName).toMatch(/Llama 3/);

      const context = await model.createContext({ contextSize: 512 });
      try {
        const seq = context.getSequence();
        const generated: number[] = [];
        for await (const token of seq.evaluate(model.tokenize("Hello"))) {
          generated.push(token);
          if (generated.length >= 5) break;
        }
        expect(generated).toHaveLength(5);
        for (const t of generated) expect(t >= 0 && t < 100352).toBe(true);
      } finally {
        await context.dispose();
      }
    } finally {
      await model.dispose();
    }
  });

  it.each(QUANTS.filter((q) => q !== "q8_0"))("loads and evaluates tiny at %s", async (quant) => {
    const resolved = await resolveModel(`synthetic:tiny?quant=${quant}`, { cacheDir });
    const model = await llama.loadModel({ modelPath: resolved.path });
    try {
      expect(model.trainContextSize).toBe(2048);
      const context = await model.createContext({ contextSize: 256 });
      try {
        const seq = context.getSequence();
        let n = 0;
        for await (const _ of seq.evaluate(model.tokenize("The quick brown fox"))) {
          if (++n >= 3) break;
        }
        expect(n).toBe(3);
      } finally {
        await context.dispose();
      }
    } finally {
      await model.dispose();
    }
  });
});
