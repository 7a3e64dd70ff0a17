/**
 * The worker-protocol conformance suite (shared/PROTOCOL.md, seam 2): the same tests for every
 * runtime. A target says what it cannot do as a capability set to a string — the reason — and the
 * test is then skipped with that reason printed and attached to the skip (docs/conformance.md).
 */
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { isTokenForgeError } from "../../src/errors.js";
import { BACKEND_OWNED_FLAGS } from "../../src/runtimes/flags.js";
import type { RuntimeDefinition } from "../../src/spec/runtime.js";
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
  /**
   * `ignore_eos` is taken and makes output exactly `max_tokens` (default true). A string: the
   * requests go without it, and the counts are checked to be at most `max_tokens`.
   */
  ignoreEos?: Can;
  /** `/v1/completions` is served for the model (default true); else the chat route stands in. */
  completions?: Can;
  /** `GET /health` is served (default true). */
  health?: Can;
  /**
   * A stream's usage comes in a chunk of its own with `choices: []` (default true). A string: it
   * may instead ride on the last content chunk, beside `finish_reason`.
   */
  usageChunk?: Can;
  /** An error body has `param` naming the field (default true). A string: the message names it. */
  errorParam?: Can;
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
    /** Whether output is exactly max_tokens (ignore_eos taken and honoured). */
    const exact = () => (t.capabilities.ignoreEos ?? true) === true;
    const eos = () => (exact() ? { ignore_eos: true } : {});
    const completion = (extra: Record<string, unknown> = {}) => ({
      model: t.model,
      prompt: PROMPT,
      max_tokens: N,
      ...eos(),
      temperature: 0,
      ...extra,
    });
    const chat = (extra: Record<string, unknown> = {}) => ({
      model: t.model,
      messages: [{ role: "user", content: PROMPT }],
      max_tokens: N,
      ...eos(),
      temperature: 0,
      ...extra,
    });
    /** The route every route-agnostic test uses: completions, or chat on a chat-only server. */
    const generation = (
      extra: Record<string, unknown> = {},
    ): [string, Record<string, unknown>, "completions" | "chat"] =>
      (t.capabilities.completions ?? true) === true
        ? ["/v1/completions", completion(extra), "completions"]
        : ["/v1/chat/completions", chat(extra), "chat"];
    /** Checks a completion count: exactly `max` with ignore_eos, else between 1 and `max`. */
    const expectCount = (n: number, max = N) => {
      if (exact()) expect(n).toBe(max);
      else {
        expect(n).toBeGreaterThanOrEqual(1);
        expect(n).toBeLessThanOrEqual(max);
      }
    };
    const expectFinish = (finish: unknown, n: number, max = N) => {
      if (exact()) expect(finish).toBe("length");
      else expect(finish).toBe(n === max ? "length" : "stop");
    };
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
      if ((t.capabilities.usageChunk ?? true) === true) expect(last.choices).toEqual([]);
      expectCount(last.usage.completion_tokens);
      expect(last.usage.total_tokens).toBe(last.usage.prompt_tokens + last.usage.completion_tokens);
      let text = "";
      let finish: unknown;
      for (const e of last.choices.length === 0 ? s.events.slice(0, -1) : s.events) {
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
      expectFinish(finish, last.usage.completion_tokens);
      return { text, usage: last.usage };
    }

    describe("generation", () => {
      it("completions: usage present and exactly max_tokens with ignore_eos", async (ctx) => {
        need(ctx, "/v1/completions", t.capabilities.completions ?? true);
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
        expectFinish(body.choices[0]!.finish_reason, body.usage.completion_tokens);
        expectCount(body.usage.completion_tokens);
        expect(body.usage.prompt_tokens).toBeGreaterThan(0);
        expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
      });

      it("completions streamed: JSON events, text in choices[0].text, usage chunk, [DONE]", async (ctx) => {
        need(ctx, "/v1/completions streamed", t.capabilities.completions ?? true);
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
        expectFinish(body.choices[0]!.finish_reason, body.usage.completion_tokens);
        expectCount(body.usage.completion_tokens);
      });

      it("chat streamed: content in choices[0].delta.content, usage chunk, [DONE]", async () => {
        const s = await readStream(await post("/v1/chat/completions", chat(streamed)));
        checkStream(s, "chat");
      });

      it("4 concurrent streamed requests all complete with exact counts", async () => {
        const all = await Promise.all(
          Array.from({ length: 4 }, async (_, i) => {
            const [path, body, kind] = generation({
              ...streamed,
              prompt: `${PROMPT} ${i}`,
              messages: [{ role: "user", content: `${PROMPT} ${i}` }],
            });
            if (kind === "completions") delete body.messages;
            else delete body.prompt;
            return [await readStream(await post(path, body)), kind] as const;
          }),
        );
        for (const [s, kind] of all) expectCount(checkStream(s, kind).usage.completion_tokens);
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

      it("/health answers 200 when ready", async (ctx) => {
        need(ctx, "/health", t.capabilities.health ?? true);
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
        if ((t.capabilities.errorParam ?? true) === true) expect("param" in body.error).toBe(true);
        return body.error;
      };

      it("a max_tokens of the wrong type is a 400 naming the param", async () => {
        const [path, body] = generation({ max_tokens: "eight" });
        const res = await post(path, body);
        expect(res.status).toBe(400);
        const error = await errorShape(res);
        if ((t.capabilities.errorParam ?? true) === true) expect(error.param).toBe("max_tokens");
        else expect(error.message).toContain("max_tokens");
      });

      it("an unknown route is a 404", async () => {
        const res = await post("/v1/no-such-route", {});
        expect(res.status).toBe(404);
        await res.body?.cancel();
      });

      it("an unknown model is a 404", async (ctx) => {
        need(ctx, "unknown model → 404", t.capabilities.checksModel);
        const [path, body] = generation({ model: "no-such-model-anywhere" });
        const res = await post(path, body);
        expect(res.status).toBe(404);
        await errorShape(res);
      });
    });

    describe("disconnects", () => {
      it("a client leaving mid-stream does not stop the server serving", async () => {
        const abort = new AbortController();
        const [path, body] = generation({ ...streamed, max_tokens: LONG });
        const res = await post(path, body, abort.signal);
        expect(res.status).toBe(200);
        const reader = res.body!.getReader();
        await reader.read(); // the stream has started
        abort.abort();
        await reader.closed.catch(() => {});

        const [nextPath, nextBody] = generation();
        const next = await post(nextPath, nextBody);
        expect(next.status).toBe(200);
        expectCount(((await next.json()) as { usage: Usage }).usage.completion_tokens);
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
        const [path, body] = generation({ ...streamed, max_tokens: LONG });
        const res = await post(path, body, abort.signal);
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

/** Every way an argument list can set `flag`: separate value, `=value`, abbreviated, hidden in a value. */
function settingsOf(flag: string): string[][] {
  const forms = [[flag, "x"], [`${flag}=x`], ["--seed", "1", flag, "x"]];
  if (flag.startsWith("--") && flag.length > 3) forms.push([flag.slice(0, -1), "x"]);
  if (!flag.startsWith("--")) forms.push([`${flag}x`]);
  return forms;
}

/**
 * The runtime seam's owned flags (seam 1): every runtime owns where its worker listens and what it
 * serves, and refuses engine arguments that set any flag it owns — in every form a parser reads —
 * in the same way: `invalid_request` on `engine_args`, naming the flag, for the local launch and
 * the Kubernetes container alike. Pure: nothing is started.
 */
export function defineOwnedFlagsConformance(runtime: RuntimeDefinition): void {
  describe(`runtime seam conformance: ${runtime.name}`, () => {
    const launch = (extraArgs: string[]) => () =>
      runtime.localProcess({ model: "synthetic:tiny", host: "127.0.0.1", port: 8000, extraArgs });
    const container = (extraArgs: string[]) => () =>
      runtime.container?.(
        { model: "/models/m.gguf", extraArgs },
        { port: 8000, workerImage: "tokenforge/worker:test", hfTokenSecret: null },
      );
    const refusal = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return err;
      }
      return undefined;
    };

    it("owns --host, --port and --model", () => {
      for (const flag of BACKEND_OWNED_FLAGS) expect(runtime.ownedFlags).toContain(flag);
    });

    it.each([...runtime.ownedFlags])("refuses engine_args that set %s, naming it", (flag) => {
      for (const args of settingsOf(flag)) {
        const plans: [string, () => unknown][] = [["local process", launch(args)]];
        if (runtime.container) plans.push(["container", container(args)]);
        for (const [where, plan] of plans) {
          const err = refusal(plan);
          const what = `${where} with ${JSON.stringify(args)}`;
          expect(isTokenForgeError(err), what).toBe(true);
          if (!isTokenForgeError(err)) continue;
          expect(err.code, what).toBe("invalid_request");
          expect(err.field, what).toBe("engine_args");
          expect(err.message, what).toContain(flag);
        }
      }
    });
  });
}
