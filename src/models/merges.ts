/**
 * GPT-2 style BPE merges from tiktoken ranks.
 *
 * tiktoken merges by rank: at each step the adjacent pair whose concatenation has the lowest rank
 * is joined. A token of rank r is therefore built from the two parts that BPE over its own bytes
 * reaches using only ranks below r; that pair is its merge, and merges ordered by r reproduce
 * tiktoken's priorities in llama.cpp's merge-rank BPE.
 */

/** Polynomial hash base; substring hashes come from prefix hashes in O(1). */
const BASE = 0x01000193;
const MAX_TOKEN_BYTES = 1024;

/**
 * Rank lookup for substrings of a token without allocating them: an open-addressing table keyed
 * by a rolling hash, each hit confirmed by comparing bytes. (A Map keyed by sliced strings spends
 * most of the derivation in allocation and hashing.)
 */
class RankTable {
  private readonly keys: Int32Array;
  private readonly values: Int32Array;
  private readonly mask: number;
  readonly pow = new Int32Array(MAX_TOKEN_BYTES + 1);

  constructor(private readonly ranks: readonly string[]) {
    let size = 1;
    while (size < ranks.length * 2) size <<= 1;
    this.mask = size - 1;
    this.keys = new Int32Array(size);
    this.values = new Int32Array(size).fill(-1);
    this.pow[0] = 1;
    for (let i = 1; i <= MAX_TOKEN_BYTES; i++) this.pow[i] = Math.imul(this.pow[i - 1]!, BASE);
    for (let r = 0; r < ranks.length; r++) {
      const t = ranks[r]!;
      let h = 0;
      for (let i = 0; i < t.length; i++) h = (Math.imul(h, BASE) + t.charCodeAt(i)) | 0;
      let slot = this.slot(h);
      while (this.values[slot]! >= 0) slot = (slot + 1) & this.mask;
      this.keys[slot] = h;
      this.values[slot] = r;
    }
  }

  private slot(h: number): number {
    return (h ^ (h >>> 15)) & this.mask;
  }

  /** Rank of token[from, to) given its hash, or -1. */
  find(h: number, token: string, from: number, to: number): number {
    const len = to - from;
    for (let slot = this.slot(h); ; slot = (slot + 1) & this.mask) {
      const r = this.values[slot]!;
      if (r < 0) return -1;
      if (this.keys[slot] !== h) continue;
      const candidate = this.ranks[r]!;
      if (candidate.length !== len) continue;
      let same = true;
      for (let i = 0; i < len && same; i++) same = candidate.charCodeAt(i) === token.charCodeAt(from + i);
      if (same) return r;
    }
  }
}

/**
 * The merge of every multi-byte token, in rank order, as [left, right] latin1 strings (one char
 * per byte). `ranks[r]` is the token of rank r as a latin1 string.
 */
export function deriveMerges(ranks: readonly string[]): Array<[string, string]> {
  const table = new RankTable(ranks);
  const merges: Array<[string, string]> = [];
  const prefix = new Int32Array(MAX_TOKEN_BYTES + 1);
  // Part boundaries (parts + 1 of them) and the rank of each adjacent pair (Infinity when it is no
  // token below r); after a merge only the two neighbouring pairs change, so each step is one
  // scan and two lookups. Typed arrays and no closures: this runs for 100k tokens.
  const starts = new Int32Array(MAX_TOKEN_BYTES + 1);
  const pairRanks = new Float64Array(MAX_TOKEN_BYTES);
  for (let r = 0; r < ranks.length; r++) {
    const token = ranks[r]!;
    const n = token.length;
    if (n < 2) continue;
    if (n > MAX_TOKEN_BYTES) throw new Error(`token of rank ${r} is longer than ${MAX_TOKEN_BYTES} bytes`);
    for (let i = 0; i < n; i++) prefix[i + 1] = (Math.imul(prefix[i]!, BASE) + token.charCodeAt(i)) | 0;
    for (let i = 0; i <= n; i++) starts[i] = i;
    for (let i = 0; i + 1 < n; i++) pairRanks[i] = rankBelow(table, token, prefix, i, i + 2, r);
    let parts = n;
    while (parts > 2) {
      let at = -1;
      let best = Number.POSITIVE_INFINITY;
      for (let i = 0; i < parts - 1; i++) {
        if (pairRanks[i]! < best) {
          best = pairRanks[i]!;
          at = i;
        }
      }
      if (at < 0) break;
      starts.copyWithin(at + 1, at + 2, parts + 1);
      pairRanks.copyWithin(at, at + 1, parts - 1);
      parts--;
      if (at < parts - 1) pairRanks[at] = rankBelow(table, token, prefix, starts[at]!, starts[at + 2]!, r);
      if (at > 0) pairRanks[at - 1] = rankBelow(table, token, prefix, starts[at - 1]!, starts[at + 1]!, r);
    }
    // Two parts is the rule; a token BPE cannot reach still tokenizes whole via llama.cpp's
    // ignore_merges word lookup (as tiktoken does), so it needs no merge.
    if (parts === 2) merges.push([token.slice(0, starts[1]!), token.slice(starts[1]!)]);
  }
  return merges;
}

/** Rank of token[from, to) if it is a token ranked below `limit`, else Infinity. */
function rankBelow(
  table: RankTable,
  token: string,
  prefix: Int32Array,
  from: number,
  to: number,
  limit: number,
): number {
  const h = (prefix[to]! - Math.imul(prefix[from]!, table.pow[to - from]!)) | 0;
  const found = table.find(h, token, from, to);
  return found >= 0 && found < limit ? found : Number.POSITIVE_INFINITY;
}
