/** The official `openai` client works against the worker unchanged. */
import OpenAI from "openai";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RunningWorker } from "../../src/worker/server.js";
import { startTestWorker } from "../helpers/worker.js";

let worker: RunningWorker;
let client: OpenAI;
beforeAll(async () => {
  worker = await startTestWorker({ parallel: 2, contextLength: 512 });
  client = new OpenAI({ baseURL: `${worker.url}/v1`, apiKey: "unused", maxRetries: 0 });
});
afterAll(async () => {
  await worker?.close();
});

it("lists the model", async () => {
  const models = await client.models.list();
  expect(models.data.map((m) => m.id)).toEqual(["synthetic:tiny"]);
});

it("completes, whole and streamed", async () => {
  const whole = await client.completions.create({
    model: "synthetic:tiny",
    prompt: "Once upon",
    max_tokens: 10,
    seed: 3,
  });
  expect(whole.usage?.completion_tokens).toBeLessThanOrEqual(10);
  expect(whole.choices[0]?.finish_reason).toMatch(/^(length|stop)$/);

  const stream = await client.completions.create({
    model: "synthetic:tiny",
    prompt: "Once upon",
    max_tokens: 10,
    stream: true,
    stream_options: { include_usage: true },
    // @ts-expect-error vLLM's extension, sent through as is
    ignore_eos: true,
  });
  let text = "";
  let usage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.text ?? "";
    usage = chunk.usage ?? usage;
  }
  expect(usage?.completion_tokens).toBe(10);
  expect(text.length).toBeGreaterThan(0);
});

it("chats, whole and streamed", async () => {
  const messages = [{ role: "user" as const, content: "Hello!" }];
  const whole = await client.chat.completions.create({ model: "synthetic:tiny", messages, max_tokens: 8 });
  expect(whole.choices[0]?.message.role).toBe("assistant");
  expect(whole.usage?.prompt_tokens).toBeGreaterThan(0);

  const stream = await client.chat.completions.create({
    model: "synthetic:tiny",
    messages,
    max_completion_tokens: 8,
    stream: true,
    stream_options: { include_usage: true },
    // @ts-expect-error vLLM's extension, sent through as is
    ignore_eos: true,
  });
  let usage: OpenAI.CompletionUsage | undefined;
  let content = "";
  for await (const chunk of stream) {
    content += chunk.choices[0]?.delta?.content ?? "";
    usage = chunk.usage ?? usage;
  }
  expect(usage?.completion_tokens).toBe(8);
  expect(content.length).toBeGreaterThan(0);
});

it("surfaces an unknown model as the SDK's NotFoundError", async () => {
  await expect(
    client.completions.create({ model: "nope", prompt: "x", max_tokens: 1 }),
  ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
});
