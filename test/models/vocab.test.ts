import { encode } from "gpt-tokenizer/encoding/cl100k_base";
import { describe, expect, it } from "vitest";
import {
  BYTE_TO_UNICODE,
  baseVocabulary,
  buildVocabulary,
  CL100K_GGUF_STRING_BYTES,
  CL100K_SIZE,
  CONTROL_BLOCK,
  TokenType,
} from "../../src/models/vocab.js";
import { ENGLISH_PARAGRAPHS, wordCount } from "./english.js";

/** Llama 3's pre-tokenizer (llama.cpp "llama-bpe"), which is cl100k_base's regex spelled without (?i:). */
const PRE_TOKENIZER =
  /(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

/**
 * A reference of what llama.cpp's BPE does with our GGUF vocabulary: split with the pre-tokenizer,
 * take a word whole if it is a token (ignore_merges), else merge the adjacent pair of lowest merge
 * rank until none applies.
 */
function makeMergeBpe(tokens: readonly string[], merges: readonly string[]): (text: string) => number[] {
  const idOf = new Map(tokens.map((t, i) => [t, i]));
  const mergeRank = new Map(merges.map((m, i) => [m, i]));
  return (text) => {
    const ids: number[] = [];
    for (const word of text.match(PRE_TOKENIZER) ?? []) {
      const symbols = [...Buffer.from(word, "utf8")].map((b) => BYTE_TO_UNICODE[b]!);
      const whole = idOf.get(symbols.join(""));
      if (whole !== undefined) {
        ids.push(whole);
        continue;
      }
      for (;;) {
        let best = Number.POSITIVE_INFINITY;
        let at = -1;
        for (let i = 0; i + 1 < symbols.length; i++) {
          const r = mergeRank.get(`${symbols[i]} ${symbols[i + 1]}`);
          if (r !== undefined && r < best) {
            best = r;
            at = i;
          }
        }
        if (at < 0) break;
        symbols.splice(at, 2, symbols[at]! + symbols[at + 1]!);
      }
      for (const s of symbols) ids.push(idOf.get(s)!);
    }
    return ids;
  };
}

const SAMPLES = [
  ...ENGLISH_PARAGRAPHS,
  "Hello world! It's 2024; they'll say we've done 1234567 things, DON'T they?",
  "def add(a, b):\n    return a + b  # sum\n\n\n\tindent\r\nend   ",
  "Unicode: café, naïve, 東京, Привет мир, emoji 🚀🎉 and ½ + ¾ = 1¼.",
  "   leading spaces, trailing spaces   ",
  "URLs like https://example.com/path?x=1&y=2 and emails a.b@c.de",
];

describe("cl100k_base vocabulary", () => {
  it("derives one merge per multi-byte token, each joining two lower-ranked tokens", () => {
    const { tokens, merges } = baseVocabulary();
    expect(tokens).toHaveLength(CL100K_SIZE);
    expect(merges).toHaveLength(CL100K_SIZE - 256);
    const idOf = new Map(tokens.map((t, i) => [t, i]));
    let previous = -1;
    const bad: string[] = [];
    for (const m of merges) {
      const [a, b] = m.split(" ") as [string, string];
      const joined = idOf.get(a + b) ?? -1;
      const ordered =
        joined > previous && (idOf.get(a) ?? joined) < joined && (idOf.get(b) ?? joined) < joined;
      if (!ordered) bad.push(m);
      previous = joined;
    }
    expect(bad).toEqual([]);
  });

  it("tokenizes text through the merges exactly as gpt-tokenizer's cl100k_base encoder", () => {
    const { tokens, merges } = baseVocabulary();
    const bpe = makeMergeBpe(tokens, merges);
    for (const text of SAMPLES) expect(bpe(text)).toEqual(encode(text));
  });

  it("pads with Llama 3's special tokens to the preset's vocabulary size", () => {
    const v = buildVocabulary(128256);
    expect(v.tokens).toHaveLength(128256);
    expect(v.tokenTypes).toHaveLength(128256);
    expect(new Set(v.tokens).size).toBe(128256);
    expect(v.tokens[v.bosId]).toBe("<|begin_of_text|>");
    expect(v.tokens[v.eosId]).toBe("<|end_of_text|>");
    expect(v.tokens[v.eotId]).toBe("<|eot_id|>");
    expect(v.tokens.slice(CL100K_SIZE + 6, CL100K_SIZE + 8)).toEqual([
      "<|start_header_id|>",
      "<|end_header_id|>",
    ]);
    expect(v.tokens[CL100K_SIZE + 11]).toBe("<|reserved_special_token_3|>");
    expect(v.tokenTypes[CL100K_SIZE - 1]).toBe(TokenType.normal);
    expect(v.tokenTypes[CL100K_SIZE]).toBe(TokenType.control);
    expect(v.tokenTypes[CL100K_SIZE + CONTROL_BLOCK - 1]).toBe(TokenType.control);
    expect(v.tokenTypes[CL100K_SIZE + CONTROL_BLOCK]).toBe(TokenType.unused);
    expect(v.info.license).toBe("MIT");
  });

  it("fails clearly when the vocabulary does not fit the embedding rows", () => {
    expect(() => buildVocabulary(32000)).toThrow(/cannot hold cl100k_base's 100256 tokens/);
    expect(() => buildVocabulary(CL100K_SIZE + 5)).toThrow(/vocabulary too small/);
  });

  it("knows the GGUF size of its strings (used for file size estimates)", () => {
    const { tokens, merges } = baseVocabulary();
    let bytes = 0;
    for (const s of [...tokens, ...merges]) bytes += 8 + Buffer.byteLength(s, "utf8");
    expect(CL100K_GGUF_STRING_BYTES).toBe(bytes);
  });

  it("gives ordinary English about 1.3 tokens per word", () => {
    const text = ENGLISH_PARAGRAPHS.join("\n\n");
    const ratio = encode(text).length / wordCount(text);
    expect(ratio).toBeGreaterThan(1.1);
    expect(ratio).toBeLessThan(1.45);
  });
});
