/**
 * The worker-protocol conformance suite (shared/PROTOCOL.md, seam 2): the same tests for every
 * runtime. A target says what it cannot do as a capability set to a string — the reason — and the
 * test is then skipped with that reason printed and attached to the skip (docs/conformance.md).
 */
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { waitFor } from "../helpers/wait-for.js";

/** `true` when the target can be checked for it; a string says why it cannot. */
export type Can = true | string;

/** A second instance of the target, held while it loads. */
export interface LoadingInstance {
  url: string;
  /** Lets the load finish and resolves once it has. */
  release(): Promise<void>;
  close(): Promise<void>;
}

export interface Capabilities {
  /** `POST /tokenize` in vLLM's shape (`{count, tokens}`). */
  tokenize: Can;
  /** `/health` answers 503 while loading: starts an instance held in loading. */
  healthWhileLoading: (() => Promise<LoadingInstance>) | string;
  /** A request naming a model the server does not serve gets 404. */
  checksModel: Can;
  /** Requests in progress as the server counts them (`/health` `running` or a metric). */
  runningRequests: ((target: ConformanceTarget) => Promise<number>) | string;
}

export interface ConformanceTarget {
  url: string;
  model: string;
  /** Sent with every request (an API key). */
  headers?: Record<string, string>;
  close(): Promise<void>;
  capabilities: Capabilities;
}

/** Output tokens of the short requests; the disconnect test asks for far more. */
const N = 8;
const LONG = 1000;
const PROMPT = "The quick brown fox jumps over the lazy dog";

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

interface StreamRead {
  status: number;
  contentType: string | null;
  /** Every `data:` payload parsed, in order ([DONE] excluded). */
  events: Record<string, unknown>[];
  done: boolean;
  /** Lines of the body that are neither `data:` events nor blank (there should be none). */
  stray: string[];
}

export function defineConformance(name: string, start: () => Promise<ConformanceTarget>): void {
  describe(`worker protocol conformance: ${name}`, () => {
    let t: ConformanceTarget;
    beforeAll(async () => {
      t = await start();
    });
    afterAll(async () => {
      await t?.close();
    });

    const headers = (extra: Record<string, string> = {}) => ({
      "content-type": "application/json",
      ...t.headers,
      ...extra,
    });
    const post = (path: string, body: unknown, signal?: AbortSignal) =>
      fetch(`${t.url}${path}`, {
        method: "POST",
        headers: headers(),
        body: JSON.stringify(body),
        ...(signal ? { signal } : {}),
      });
    const get = (path: string, base = t.url) => fetch(`${base}${path}`, { headers: headers() });
    const completion = (extra: Record<string, unknown> = {}) => ({
      model: t.model,
      prompt: PROMPT,
      max_tokens: N,
      ignore_eos: true,
      temperature: 0,
      ...extra,
    });
    const chat = (extra: Record<string, unknown> = {}) => ({
      model: t.model,
      messages: [{ role: "user", content: PROMPT }],
      max_tokens: N,
      ignore_eos: true,
      temperature: 0,
      ...extra,
    });
    const streamed = { stream: true, stream_options: { include_usage: true } };

    /** Skips the test with the target's reason, printed so a run's log says what it skipped. */
    const need = (ctx: TestContext, what: string, cap: unknown): void => {
      if (typeof cap !== "string") return;
      console.info(`[conformance ${name}] skipped "${what}": ${cap}`);
      ctx.skip(`${name} cannot be checked for this: ${cap}`);
    };

    async function readStream(res: Response): Promise<StreamRead> {
      const text = await res.text();
      const events: Record<string, unknown>[] = [];
      const stray: string[] = [];
      let done = false;
      for (const line of text.split("\n")) {
        if (line.trim() === "") continue;
        if (!line.startsWith("data: ")) {
          stray.push(line);
          continue;
        }
        const data = line.slice(6);
        if (data === "[DONE]") done = true;
        else events.push(JSON.parse(data) as Record<string, unknown>);
      }
      return { status: res.status, contentType: res.headers.get("content-type"), events, done, stray };
    }

    /** Checks the streaming shape; returns the concatenated content and the final usage. */
    function checkStream(s: StreamRead, kind: "completions" | "chat"): { text: string; usage: Usage } {
      expect(s.status).toBe(200);
      expect(s.contentType).toMatch(/^text\/event-stream/);
      expect(s.stray).toEqual([]);
      expect(s.done).toBe(true);
      expect(s.events.some((e) => "error" in e)).toBe(false);
      const last = s.events.at(-1) as { choices: unknown[]; usage: Usage };
      expect(last.choices).toEqual([]);
      expect(last.usage).toMatchObject({ completion_tokens: N });
      expect(last.usage.total_tokens).toBe(last.usage.prompt_tokens + last.usage.completion_tokens);
      let text = "";
      let finish: unknown;
      for (const e of s.events.slice(0, -1)) {
        const choice = (e.choices as Record<string, unknown>[])[0]!;
        expect(choice).toBeDefined();
        if (kind === "completions") {
          expect(typeof choice.text).toBe("string");
          text += choice.text as string;
        } else {
          const delta = choice.delta as { content?: unknown; role?: unknown };
          expect(delta).toBeTypeOf("object");
          if (delta.content !== undefined && delta.content !== null) {
            expect(typeof delta.content).toBe("string");
            text += delta.content as string;
          }
        }
        if (choice.finish_reason !== null && choice.finish_reason !== undefined)
          finish = choice.finish_reason;
      }
      expect(finish).toBe("length");
      return { text, usage: last.usage };
    }

    describe("generation", () => {
      it("completions: usage present and exactly max_tokens with ignore_eos", async () => {
        const res = await post("/v1/completions", completion());
        expect(res.status).toBe(200);
        const body = (await res.json()) as {
          object: string;
          model: string;
          choices: { text: string; finish_reason: string }[];
          usage: Usage;
        };
        expect(body.object).toBe("text_completion");
        expect(typeof body.choices[0]!.text).toBe("string");
        expect(body.choices[0]!.finish_reason).toBe("length");
        expect(body.usage.completion_tokens).toBe(N);
        expect(body.usage.prompt_tokens).toBeGreaterThan(0);
        expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + N);
      });

      it("completions streamed: JSON events, text in choices[0].text, usage chunk, [DONE]", async () => {
        const s = await readStream(await post("/v1/completions", completion(streamed)));
        const { usage } = checkStream(s, "completions");
        expect(usage.prompt_tokens).toBeGreaterThan(0);
      });

      it("chat: usage present and exactly max_tokens with ignore_eos", async () => {
        const res = await post("/v1/chat/completions", chat());
        expect(res.status).toBe(200);
        const body = (await res.json()) as {
          object: string;
          choices: { message: { role: string; content: string }; finish_reason: string }[];
          usage: Usage;
        };
        expect(body.object).toBe("chat.completion");
        expect(body.choices[0]!.message.role).toBe("assistant");
        expect(typeof body.choices[0]!.message.content).toBe("string");
        expect(body.choices[0]!.finish_reason).toBe("length");
        expect(body.usage.completion_tokens).toBe(N);
      });

      it("chat streamed: content in choices[0].delta.content, usage chunk, [DONE]", async () => {
        const s = await readStream(await post("/v1/chat/completions", chat(streamed)));
        checkStream(s, "chat");
      });

      it("4 concurrent streamed requests all complete with exact counts", async () => {
        const all = await Promise.all(
          Array.from({ length: 4 }, async (_, i) =>
            readStream(await post("/v1/completions", completion({ ...streamed, prompt: `${PROMPT} ${i}` }))),
          ),
        );
        for (const s of all) expect(checkStream(s, "completions").usage.completion_tokens).toBe(N);
      });
    });

    describe("around generation", () => {
      it("/tokenize (vLLM's shape) counts a prompt as usage.prompt_tokens does", async (ctx) => {
        need(ctx, "/tokenize", t.capabilities.tokenize);
        const res = await post("/tokenize", { model: t.model, prompt: PROMPT });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { count: number; tokens: number[]; max_model_len?: number };
        expect(body.count).toBeGreaterThan(0);
        expect(body.tokens).toHaveLength(body.count);
        const gen = (await (await post("/v1/completions", completion({ max_tokens: 1 }))).json()) as {
          usage: Usage;
        };
        expect(gen.usage.prompt_tokens).toBe(body.count);
      });

      it("/health answers 200 when ready", async () => {
        const res = await get("/health");
        expect(res.status).toBe(200);
        await res.body?.cancel();
      });

      it("/health answers 503 while loading, then 200", async (ctx) => {
        const cap = t.capabilities.healthWhileLoading;
        need(ctx, "/health 503 while loading", cap);
        const loading = await (cap as () => Promise<LoadingInstance>)();
        try {
          const before = await get("/health", loading.url);
          expect(before.status).toBe(503);
          await before.body?.cancel();
          await loading.release();
          const after = await get("/health", loading.url);
          expect(after.status).toBe(200);
          await after.body?.cancel();
        } finally {
          await loading.close();
        }
      });
    });

    describe("errors", () => {
      const errorShape = async (res: Response) => {
        const body = (await res.json()) as { error: { message: unknown; type: unknown; param: unknown } };
        expect(typeof body.error.message).toBe("string");
        expect(typeof body.error.type).toBe("string");
        expect("param" in body.error).toBe(true);
        return body.error;
      };

      it("a max_tokens of the wrong type is a 400 naming the param", async () => {
        const res = await post("/v1/completions", completion({ max_tokens: "eight" }));
        expect(res.status).toBe(400);
        expect((await errorShape(res)).param).toBe("max_tokens");
      });

      it("an unknown route is a 404", async () => {
        const res = await post("/v1/no-such-route", {});
        expect(res.status).toBe(404);
        await res.body?.cancel();
      });

      it("an unknown model is a 404", async (ctx) => {
        need(ctx, "unknown model → 404", t.capabilities.checksModel);
        const res = await post("/v1/completions", completion({ model: "no-such-model-anywhere" }));
        expect(res.status).toBe(404);
        await errorShape(res);
      });
    });

    describe("disconnects", () => {
      it("a client leaving mid-stream does not stop the server serving", async () => {
        const abort = new AbortController();
        const res = await post(
          "/v1/completions",
          completion({ ...streamed, max_tokens: LONG }),
          abort.signal,
        );
        expect(res.status).toBe(200);
        const reader = res.body!.getReader();
        await reader.read(); // the stream has started
        abort.abort();
        await reader.closed.catch(() => {});

        const next = await post("/v1/completions", completion());
        expect(next.status).toBe(200);
        expect(((await next.json()) as { usage: Usage }).usage.completion_tokens).toBe(N);
      });

      it("and the request it left stops running", async (ctx) => {
        const cap = t.capabilities.runningRequests;
        need(ctx, "running requests back to 0 after a disconnect", cap);
        const running = cap as (target: ConformanceTarget) => Promise<number>;
        // A generation that kept going after its client left would hold the count well past 5 s.
        const settled = async (what: string) => {
          let now = -1;
          await waitFor(
            async () => {
              now = await running(t);
              return now === 0;
            },
            { what, timeoutMs: 5000, detail: () => `${now} running` },
          );
        };
        await settled("no request running, the previous test's abandoned one included");
        const abort = new AbortController();
        const res = await post(
          "/v1/completions",
          completion({ ...streamed, max_tokens: LONG }),
          abort.signal,
        );
        const reader = res.body!.getReader();
        await reader.read();
        expect(await running(t)).toBe(1);
        abort.abort();
        await reader.closed.catch(() => {});
        await settled("the abandoned request to stop running");
      });
    });
  });
}

/** A `/metrics` gauge's value (first sample), for `runningRequests`. */
export async function metricValue(target: ConformanceTarget, name: string): Promise<number> {
  const text = await (await fetch(`${target.url}/metrics`, { headers: { ...target.headers } })).text();
  const escaped = name.replace(/[.*+?^${}()|[\]\\:]/g, "\\$&");
  const m = new RegExp(`^${escaped}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text);
  if (!m) throw new Error(`/metrics has no ${name}`);
  return Number(m[1]);
}

/** `running` from `/health`'s JSON body, for `runningRequests`. */
export async function healthRunning(target: ConformanceTarget): Promise<number> {
  const body = (await (await fetch(`${target.url}/health`, { headers: { ...target.headers } })).json()) as {
    running?: unknown;
  };
  if (typeof body.running !== "number") throw new Error("/health has no running count");
  return body.running;
}
