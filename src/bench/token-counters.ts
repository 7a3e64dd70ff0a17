/**
 * The ways to count a prompt's tokens on a target: `POST /tokenize` in each known server's
 * request and reply shape. A reply is never taken because it parsed: each shape is first checked on probes of
 * known length (`probeCounter`), so a server that answers a shape it does not understand with
 * 200 and an empty token list (llama.cpp's server given vLLM's `{prompt}`) is passed over.
 */
import { request } from "undici";

/** A target the harness counts tokens on. */
export interface TokenizeTarget {
  baseUrl: string;
  model: string;
  endpoint: "completions" | "chat";
  headers?: Record<string, string>;
}

/** Token count of a text as the target counts a prompt, or undefined when it cannot say. */
export type Counter = (text: string) => Promise<number | undefined>;

/** The `/tokenize` dialects TokenForge knows. */
export type TokenizeShapeName = "vllm" | "llama.cpp" | "tgi";

interface TokenizeShape {
  name: TokenizeShapeName;
  /** Servers that speak it, for messages. */
  servers: string;
  /** The request body for a text, or undefined when the shape cannot express this endpoint. */
  body(text: string, t: TokenizeTarget): unknown;
  /** The count in a reply, or undefined when the reply is not this shape's. */
  count(reply: unknown): number | undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Every known shape, tried in this order. */
export const TOKENIZE_SHAPES: readonly TokenizeShape[] = [
  {
    // vLLM and SGLang: `{model, prompt, add_special_tokens}` or, for chat, the messages with the
    // chat template applied; the reply carries `count` and `tokens`.
    name: "vllm",
    servers: "vLLM, SGLang, TokenForge workers",
    body: (text, t) =>
      t.endpoint === "chat"
        ? { model: t.model, messages: [{ role: "user", content: text }], add_generation_prompt: true }
        : { model: t.model, prompt: text, add_special_tokens: true },
    count: (reply) => {
      if (!isObject(reply)) return undefined;
      if (typeof reply.count === "number") {
        // A count that contradicts the token list is not a count.
        if (Array.isArray(reply.tokens) && reply.tokens.length !== reply.count) return undefined;
        return reply.count;
      }
      return Array.isArray(reply.tokens) ? reply.tokens.length : undefined;
    },
  },
  {
    // llama.cpp's server: `{content, add_special}` → `{tokens}`. It has no chat form.
    name: "llama.cpp",
    servers: "llama.cpp's llama-server",
    body: (text, t) => (t.endpoint === "chat" ? undefined : { content: text, add_special: true }),
    count: (reply) => (isObject(reply) && Array.isArray(reply.tokens) ? reply.tokens.length : undefined),
  },
  {
    // Hugging Face TGI: `{inputs}` → a list of `{id, text, start, stop}`. No chat form either.
    name: "tgi",
    servers: "Hugging Face TGI",
    body: (text, t) => (t.endpoint === "chat" ? undefined : { inputs: text }),
    count: (reply) =>
      Array.isArray(reply) && reply.every((tok) => isObject(tok) && typeof tok.id === "number")
        ? reply.length
        : undefined,
  },
];

export function shapeNamed(name: TokenizeShapeName): TokenizeShape {
  const shape = TOKENIZE_SHAPES.find((s) => s.name === name);
  if (shape === undefined) throw new RangeError(`no /tokenize shape named ${name}`);
  return shape;
}

/** A counter speaking one shape of `/tokenize`; undefined when the shape cannot express the endpoint. */
export function tokenizeCounter(t: TokenizeTarget, shape: TokenizeShape): Counter | undefined {
  if (shape.body(" the", t) === undefined) return undefined;
  const url = `${t.baseUrl.replace(/\/+$/, "")}/tokenize`;
  return async (text) => shape.count((await postJson(url, shape.body(text, t), t.headers)).reply);
}

/** Probe texts of 1, 8 and 16 words: a count that is no count fails on them. */
const PROBES: readonly [number, string][] = [1, 8, 16].map((n) => [
  n,
  Array.from({ length: n }, (_, k) => ` ${["time", "people", "water", "house"][k % 4]}`).join(""),
]);

/**
 * Why a counter's answers are not token counts of the text, or undefined when they are: every
 * probe counted, the one-word probe above 0, and each longer probe counted higher. (Whether each
 * word is exactly one token is calibration's question, asked next.)
 */
export async function probeCounter(count: Counter): Promise<string | undefined> {
  const seen: number[] = [];
  for (const [words, text] of PROBES) {
    const n = await count(text);
    if (n === undefined) return `no count for a ${words}-word probe (refused, or a reply of another shape)`;
    if (!Number.isInteger(n) || n < 0) return `a count of ${n} for a ${words}-word probe`;
    if (words === 1 && n === 0) return "a count of 0 for a 1-word probe (the shape was not understood)";
    const before = seen.at(-1);
    if (before !== undefined && n <= before)
      return `counts that do not grow with the text (${[...seen, n].join(", ")} for ${PROBES.map((p) => p[0]).join(", ")} words)`;
    seen.push(n);
  }
  return undefined;
}

async function postJson(
  url: string,
  body: unknown,
  headers?: Record<string, string>,
): Promise<{ status?: number; reply?: unknown }> {
  try {
    const res = await request(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) return { status: res.statusCode };
    return { status: 200, reply: JSON.parse(text) };
  } catch {
    return {};
  }
}
