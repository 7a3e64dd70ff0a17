/**
 * A JSON syntax check over bytes, for the stream reader: it says whether a range of a buffer is
 * one well-formed JSON value (RFC 8259, as `JSON.parse` accepts it) without decoding the bytes to
 * a string or building any object, so checking every SSE event costs a few hundred nanoseconds and
 * makes no garbage that a collection pause would later charge to a token's timestamp. Only when a
 * range is refused is it parsed with `JSON.parse`, for V8's description of what is wrong.
 */

/** Byte classes inside a string: 0 plain, 1 closing quote, 2 backslash, 3 control character. */
const IN_STRING = new Uint8Array(256);
for (let b = 0; b < 0x20; b++) IN_STRING[b] = 3;
IN_STRING[0x22] = 1;
IN_STRING[0x5c] = 2;

const HEX = new Uint8Array(256);
for (const c of "0123456789abcdefABCDEF") HEX[c.charCodeAt(0)] = 1;
/** Characters that may follow a backslash, `u` aside. */
const ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') ESCAPE[c.charCodeAt(0)] = 1;
const SPACE = new Uint8Array(256);
for (const b of [0x20, 0x0a, 0x0d, 0x09]) SPACE[b] = 1;
const DIGIT = new Uint8Array(256);
for (let b = 0x30; b <= 0x39; b++) DIGIT[b] = 1;

const QUOTE = 0x22;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
/** `}` and `]` are their opening bracket + 2 in ASCII. */
const CLOSE_OFFSET = 2;

/** Checks JSON text; one per stream reader, for the scratch stack it keeps between calls. */
export class JsonChecker {
  /** The open containers of the value being checked, innermost last; grows when one nests deeper. */
  private openers = new Uint8Array(64);

  /** True when `buf[from, to)` is exactly one JSON value, with optional surrounding whitespace. */
  isValue(buf: Uint8Array, from: number, to: number): boolean {
    let openers = this.openers;
    let depth = 0;
    let p = skipSpace(buf, from, to);
    for (;;) {
      // A value starts at p.
      if (p >= to) return false;
      const c = buf[p]!;
      if (c === QUOTE) p = stringEnd(buf, p, to);
      else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        p = skipSpace(buf, p + 1, to);
        if (buf[p] === c + CLOSE_OFFSET) p++;
        else {
          if (depth === openers.length) {
            const grown = new Uint8Array(depth * 2);
            grown.set(openers);
            openers = grown;
            this.openers = grown;
          }
          openers[depth++] = c;
          if (c === OPEN_OBJECT) {
            p = memberValueStart(buf, p, to);
            if (p < 0) return false;
          }
          continue;
        }
      } else if (c === 0x74 || c === 0x66 || c === 0x6e) p = literalEnd(buf, p, to, c);
      else p = numberEnd(buf, p, to);
      if (p < 0) return false;
      // After a value: a comma and the next one, or the end of its container, or the end of input.
      for (;;) {
        p = skipSpace(buf, p, to);
        if (depth === 0) return p === to;
        const opener = openers[depth - 1]!;
        const d = buf[p];
        if (d === COMMA) {
          p = skipSpace(buf, p + 1, to);
          if (opener === OPEN_OBJECT) {
            p = memberValueStart(buf, p, to);
            if (p < 0) return false;
          }
          break;
        }
        if (d !== opener + CLOSE_OFFSET) return false;
        depth--;
        p++;
      }
    }
  }
}

/** V8's description of what makes `text` invalid JSON, on one line; undefined when it is valid. */
export function jsonProblem(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/\s+/g, " ");
  }
}

function skipSpace(buf: Uint8Array, p: number, to: number): number {
  while (p < to && SPACE[buf[p]!] === 1) p++;
  return p;
}

/** From an object member's key (at p) past its colon to where its value starts; -1 when malformed. */
function memberValueStart(buf: Uint8Array, p: number, to: number): number {
  if (buf[p] !== QUOTE) return -1;
  p = stringEnd(buf, p, to);
  if (p < 0) return -1;
  p = skipSpace(buf, p, to);
  if (buf[p] !== COLON) return -1;
  return skipSpace(buf, p + 1, to);
}

/** The index after the string that opens at p; -1 when it is malformed or unterminated. */
function stringEnd(buf: Uint8Array, p: number, to: number): number {
  p++;
  for (;;) {
    while (p < to && IN_STRING[buf[p]!] === 0) p++;
    if (p >= to) return -1;
    const kind = IN_STRING[buf[p]!];
    if (kind === 1) return p + 1;
    if (kind === 3 || p + 1 >= to) return -1;
    const e = buf[p + 1]!;
    if (e === 0x75) {
      if (p + 6 > to) return -1;
      if (!HEX[buf[p + 2]!] || !HEX[buf[p + 3]!] || !HEX[buf[p + 4]!] || !HEX[buf[p + 5]!]) return -1;
      p += 6;
    } else if (ESCAPE[e] === 1) p += 2;
    else return -1;
  }
}

/** The index after the number at p (`-? int frac? exp?`); -1 when there is none. */
function numberEnd(buf: Uint8Array, p: number, to: number): number {
  if (buf[p] === 0x2d) p++;
  if (buf[p] === 0x30) p++;
  else if (p < to && DIGIT[buf[p]!] === 1) p = digitsEnd(buf, p, to);
  else return -1;
  if (buf[p] === 0x2e) {
    const start = p + 1;
    p = digitsEnd(buf, start, to);
    if (p === start) return -1;
  }
  if (buf[p] === 0x65 || buf[p] === 0x45) {
    p++;
    if (buf[p] === 0x2b || buf[p] === 0x2d) p++;
    const start = p;
    p = digitsEnd(buf, start, to);
    if (p === start) return -1;
  }
  return p;
}

function digitsEnd(buf: Uint8Array, p: number, to: number): number {
  while (p < to && DIGIT[buf[p]!] === 1) p++;
  return p;
}

/** The index after `true`, `false` or `null` (picked by its first byte `c`) at p; -1 when it is not there. */
function literalEnd(buf: Uint8Array, p: number, to: number, c: number): number {
  if (c === 0x74) {
    return p + 4 <= to && buf[p + 1] === 0x72 && buf[p + 2] === 0x75 && buf[p + 3] === 0x65 ? p + 4 : -1;
  }
  if (c === 0x66) {
    return p + 5 <= to &&
      buf[p + 1] === 0x61 &&
      buf[p + 2] === 0x6c &&
      buf[p + 3] === 0x73 &&
      buf[p + 4] === 0x65
      ? p + 5
      : -1;
  }
  return p + 4 <= to && buf[p + 1] === 0x75 && buf[p + 2] === 0x6c && buf[p + 3] === 0x6c ? p + 4 : -1;
}
