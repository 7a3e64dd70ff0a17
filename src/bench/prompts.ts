/**
 * Prompts of exact token length. A synthetic prompt is a run of common English words, each with a
 * leading space: in the byte-pair and sentencepiece vocabularies of current models each such word
 * is one token and never merges with its neighbours, so a prompt of k words is k tokens plus the
 * fixed overhead the server adds (a BOS token, a chat template). Calibration measures that
 * overhead on the target's `/tokenize` and checks the one-token-per-word property there before a
 * single timed request is sent.
 *
 * Every prompt starts with words that encode its index, so no two prompts share a first block and
 * a prefix cache cannot inflate the result; a configured shared prefix is placed before them.
 */
import { SeededRandom } from "./random.js";
import {
  type Counter,
  probeCounter,
  TOKENIZE_SHAPES,
  type TokenizeShapeName,
  type TokenizeTarget,
  tokenizeCounter,
} from "./token-counters.js";
import type { TokenCountSource } from "./types.js";

export const WORDS: readonly string[] = [
  "the of and to in is it that for on was with he as at by this had not are but from or have an",
  "they which one you were her all she there would their we him been has when who will more no if",
  "out so said what up its about into than them can only other new some could time these two may",
  "then do first any my now such like our over man me even most made after also did many before",
  "must through back years where much your way well down should because each just those people",
  "how too little state good very make world still own see men work long get here between both",
  "life being under never day same another know while last might us great old year off come since",
  "against go came right used take three states himself few house use during without again place",
  "around however home small found thought went say part once general high upon school every does",
  "got united left number course war until always away something fact though water less public",
  "put think almost hand enough far took head yet government system better set told nothing night",
  "end why called eyes find going look asked later knew point next program city business give",
  "group toward young days let room president side social given present several order national",
  "possible rather second face per among form important often things looking early white case",
  "become large big need four within felt along children saw best",
]
  .join(" ")
  .split(" ");

/** Words that encode a prompt's index: 4 words give every one of 256⁴ prompts its own start. */
const INDEX_WORDS = 4;

export interface Calibration {
  source: TokenCountSource;
  /** Tokens the server adds to a prompt of k words (special tokens, chat template). */
  overhead: number;
  /** Words verified to be one token each on the target (all of WORDS unless some were not). */
  words: readonly string[];
  detail: string;
  /** The `/tokenize` dialect that counted, when `source` is `server-tokenize`. */
  tokenize?: TokenizeShapeName;
  /** The runtime whose server counted, when a server did. */
  runtime?: string;
  /** Every way of counting tried before this one, and why each was passed over. */
  tried?: string[];
}

export type { Counter, TokenizeTarget } from "./token-counters.js";

/**
 * The first `/tokenize` shape the target answers with real counts (checked on probes of known
 * length, token-counters.ts), or undefined when none does.
 */
export async function serverCounter(target: TokenizeTarget): Promise<Counter | undefined> {
  for (const shape of TOKENIZE_SHAPES) {
    const counter = tokenizeCounter(target, shape);
    if (counter !== undefined && (await probeCounter(counter)) === undefined) return counter;
  }
  return undefined;
}

/**
 * Measures the overhead with two prompt lengths and checks that counts grow by exactly one per
 * word; words that do not tokenize as one token on this target are dropped and the check rerun.
 */
export async function calibrateWithCounter(count: Counter, source: TokenCountSource): Promise<Calibration> {
  const probe = (words: readonly string[], n: number, offset: number) =>
    Array.from({ length: n }, (_, k) => ` ${words[(offset + k * 7) % words.length]}`).join("");
  const check = async (words: readonly string[]) => {
    const short = await count(probe(words, 8, 0));
    const long = await count(probe(words, words.length, 0));
    const other = await count(probe(words, 64, 3));
    if (short === undefined || long === undefined || other === undefined) return undefined;
    const overhead = short - 8;
    const linear = long - words.length === overhead && other - 64 === overhead;
    return { overhead, linear };
  };
  let words: readonly string[] = WORDS;
  let result = await check(words);
  if (result === undefined) throw new Error("the tokenizer stopped answering during calibration");
  let dropped = 0;
  if (!result.linear) {
    const base = await count("");
    const kept: string[] = [];
    for (const w of WORDS) {
      const n = await count(` ${w}`);
      if (n !== undefined && base !== undefined && n - base === 1) kept.push(w);
    }
    dropped = WORDS.length - kept.length;
    words = kept;
    result = words.length >= 64 ? await check(words) : undefined;
    if (result === undefined || !result.linear) {
      throw new Error(
        "this tokenizer does not count the prompt vocabulary one token per word; prompt lengths cannot be made exact",
      );
    }
  }
  return {
    source,
    overhead: result.overhead,
    words,
    detail: `${source}: ${words.length} one-token words${dropped ? ` (${dropped} dropped)` : ""}, ${result.overhead} tokens of overhead per prompt`,
  };
}

/** The fallback when nothing can count: one token per word, no overhead, checked against usage later. */
export function uncalibrated(tried?: string[]): Calibration {
  return {
    source: "assumed",
    overhead: 0,
    words: WORDS,
    detail:
      "assumed: nothing could count tokens on the target; prompt lengths assume one token per word and " +
      "are checked against the server's usage",
    ...(tried === undefined || tried.length === 0 ? {} : { tried }),
  };
}

export interface PromptSpec {
  /** Total prompt tokens wanted, as the server counts them. */
  tokens: number;
  index: number;
  seed: number;
  /** Shared prefix words placed first (empty when this prompt shares none). */
  prefix: readonly string[];
}

/** The number of words a prompt of `tokens` tokens holds on this calibration (at least one). */
export function wordsFor(cal: Calibration, tokens: number): number {
  return Math.max(1, tokens - cal.overhead);
}

/** Builds a prompt; deterministic in (calibration words, tokens, index, seed, prefix). */
export function syntheticPrompt(cal: Calibration, spec: PromptSpec): string {
  const words = cal.words;
  const n = wordsFor(cal, spec.tokens);
  const parts: string[] = [];
  for (let k = 0; k < spec.prefix.length && parts.length < n; k++) parts.push(spec.prefix[k]!);
  let idx = spec.index;
  for (let k = 0; k < INDEX_WORDS && parts.length < n; k++) {
    parts.push(words[idx % words.length]!);
    idx = Math.floor(idx / words.length);
  }
  const rng = new SeededRandom(spec.seed, spec.index, 0x70726f6d);
  while (parts.length < n) parts.push(words[Math.floor(rng.next() * words.length)]!);
  return ` ${parts.join(" ")}`;
}

/** The shared prefix of a workload: `length` tokens of words drawn from the seed. */
export function sharedPrefix(cal: Calibration, length: number, seed: number): string[] {
  const rng = new SeededRandom(seed, 0x70726566);
  const out: string[] = [];
  for (let k = 0; k < length; k++) out.push(cal.words[Math.floor(rng.next() * cal.words.length)]!);
  return out;
}
