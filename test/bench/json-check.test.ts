/**
 * The byte-level JSON check agrees with `JSON.parse` on what is valid: a corpus of edge cases,
 * and seeded random edits of real stream chunks.
 */
import { describe, expect, it } from "vitest";
import { JsonChecker, jsonProblem } from "../../src/bench/json-check.js";
import { createRandom } from "../../src/bench/random.js";

const checker = new JsonChecker();
const parses = (text: string) => jsonProblem(text) === undefined;
const checks = (text: string) => {
  const b = Buffer.from(text);
  return checker.isValue(b, 0, b.length);
};

const VALID = [
  "{}",
  "[]",
  '{"a":1}',
  ' { "a" : [ 1 , 2.5e-3 , -0 , true , false , null ] } ',
  '"x"',
  "0",
  "-0.5",
  "1E+9",
  "3e7",
  '"\\u00e9\\n\\t\\"\\\\\\/\\b\\f\\r"',
  '{"text":"héllo wörld 🚀"}',
  "[[[[[]]]]]",
  '{"a":{"b":{"c":[{}]}}}',
  '{"":""}',
  '{"usage":null,"choices":[]}',
];

const INVALID = [
  "",
  " ",
  "{",
  "}",
  '{"a":}',
  '{"a":1,}',
  "[1,]",
  "[,1]",
  '{"a" 1}',
  '{"a":1 "b":2}',
  "{1:2}",
  "{'a':1}",
  '{"a":1}}',
  '{"a":1]',
  "[}",
  "{]",
  "01",
  "-01",
  "1.",
  ".5",
  "-",
  "1e",
  "1e+",
  "+1",
  "NaN",
  "Infinity",
  "tru",
  "nulll",
  "True",
  '"abc',
  '"\\x"',
  '"\\u12"',
  '"\\u00zz"',
  '"tab\there"',
  '"line\nbreak"',
  '{"a":1} x',
  '{"a":1}{"b":2}',
  '{"choices":[{"text":" b"}',
];

describe("JsonChecker", () => {
  it("accepts what JSON.parse accepts", () => {
    for (const text of VALID) {
      expect(parses(text), text).toBe(true);
      expect(checks(text), text).toBe(true);
    }
  });

  it("refuses what JSON.parse refuses", () => {
    for (const text of INVALID) {
      expect(parses(text), text).toBe(false);
      expect(checks(text), text).toBe(false);
    }
  });

  it("checks only the range it is given", () => {
    const b = Buffer.from('data: {"a":[1,2]}\n\n');
    expect(checker.isValue(b, 6, b.length - 2)).toBe(true);
    expect(checker.isValue(b, 6, b.length - 3)).toBe(false);
    expect(checker.isValue(b, 5, b.length - 2)).toBe(true);
  });

  it("follows nesting deeper than its first stack", () => {
    const deep = `${"[".repeat(1000)}{"a":1}${"]".repeat(1000)}`;
    expect(checks(deep)).toBe(true);
    expect(checks(`${deep}]`)).toBe(false);
    expect(checks(deep.slice(0, -1))).toBe(false);
  });

  it("agrees with JSON.parse on seeded random edits of stream chunks", () => {
    const chunks = [
      '{"id":"cmpl-1","object":"text_completion","created":1718000000,"model":"m","choices":[{"index":0,"text":" he\\"llo\\u00e9","logprobs":null,"finish_reason":null}],"usage":null}',
      '{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"x"},"finish_reason":"length"}],"usage":{"prompt_tokens":12,"completion_tokens":-3.5e2,"total_tokens":0}}',
    ];
    const alphabet = '{}[]",:0123456789 \t\n-+.eEtrufalsn\\u/x';
    const rng = createRandom(7, "json-edits");
    let valid = 0;
    for (let i = 0; i < 20_000; i++) {
      const chars = [...chunks[i % chunks.length]!];
      const edits = 1 + Math.floor(rng.next() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rng.next() * chars.length);
        const ch = alphabet[Math.floor(rng.next() * alphabet.length)]!;
        const op = rng.next();
        if (op < 1 / 3) chars.splice(at, 1);
        else if (op < 2 / 3) chars.splice(at, 0, ch);
        else chars[at] = ch;
      }
      const text = chars.join("");
      const expected = parses(text);
      if (expected) valid++;
      expect(checks(text), text).toBe(expected);
    }
    // The edits leave a fair share valid (inside strings), so both answers are exercised.
    expect(valid).toBeGreaterThan(1000);
    expect(valid).toBeLessThan(19_000);
  });
});

describe("jsonProblem", () => {
  it("gives V8's message on one line, and nothing for valid JSON", () => {
    expect(jsonProblem('{"a":1}')).toBeUndefined();
    const m = jsonProblem('{"a":\n}');
    expect(m).toBeDefined();
    expect(m).not.toMatch(/\n/);
  });
});
