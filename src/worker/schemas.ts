/**
 * Request schemas of the worker protocol (OpenAI's completions and chat completions as vLLM
 * serves them). They validate requests, give TypeScript types, and carry the defaults.
 * Unknown keys are refused, except the OpenAI fields listed here that a client may send with
 * a neutral value (n = 1, no logprobs, zero penalties) so that stock OpenAI clients work.
 */
import { type Static, Type } from "@sinclair/typebox";

/**
 * Longest strings a request may carry. Text (a prompt, a message) is bounded by the body limit
 * long before this bound, and by the prompt size limit before it is tokenized; the rest are
 * names and short sequences.
 */
const MAX_TEXT = 8 * 1024 * 1024;
const MAX_MODEL = 512;
const MAX_STOP = 1024;
const MAX_NAME = 256;
/** Token ids of a prompt given as ids: more than any context holds. */
const MAX_PROMPT_IDS = 1024 * 1024;
/** Messages of a chat, and parts of one message's content. */
const MAX_MESSAGES = 4096;

const Sampling = {
  model: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_MODEL })),
  max_tokens: Type.Optional(Type.Integer({ minimum: 1 })),
  temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
  top_p: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
  seed: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1 }), Type.Null()])),
  stop: Type.Optional(
    Type.Union([
      Type.String({ minLength: 1, maxLength: MAX_STOP }),
      Type.Array(Type.String({ minLength: 1, maxLength: MAX_STOP }), { maxItems: 16 }),
      Type.Null(),
    ]),
  ),
  stream: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  stream_options: Type.Optional(
    Type.Union([
      Type.Object(
        {
          include_usage: Type.Optional(Type.Boolean()),
          continuous_usage_stats: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
  ),
  ignore_eos: Type.Optional(Type.Boolean()),
  // Accepted only with the value that changes nothing.
  n: Type.Optional(Type.Literal(1)),
  best_of: Type.Optional(Type.Literal(1)),
  logprobs: Type.Optional(Type.Union([Type.Literal(false), Type.Literal(0), Type.Null()])),
  presence_penalty: Type.Optional(Type.Union([Type.Literal(0), Type.Null()])),
  frequency_penalty: Type.Optional(Type.Union([Type.Literal(0), Type.Null()])),
  user: Type.Optional(Type.String({ maxLength: MAX_NAME })),
};

export const CompletionRequest = Type.Object(
  {
    ...Sampling,
    prompt: Type.Union([
      Type.String({ maxLength: MAX_TEXT }),
      Type.Array(Type.String({ maxLength: MAX_TEXT }), { minItems: 1, maxItems: 1 }),
      Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, maxItems: MAX_PROMPT_IDS }),
    ]),
    echo: Type.Optional(Type.Literal(false)),
  },
  { additionalProperties: false },
);
export type CompletionRequest = Static<typeof CompletionRequest>;

const Content = Type.Union([
  Type.String({ maxLength: MAX_TEXT }),
  Type.Array(
    Type.Object(
      { type: Type.Literal("text"), text: Type.String({ maxLength: MAX_TEXT }) },
      { additionalProperties: false },
    ),
    { minItems: 1, maxItems: MAX_MESSAGES },
  ),
]);

export const ChatMessage = Type.Object(
  {
    role: Type.Union([
      Type.Literal("system"),
      Type.Literal("user"),
      Type.Literal("assistant"),
      Type.Literal("developer"),
    ]),
    content: Content,
    name: Type.Optional(Type.String({ maxLength: MAX_NAME })),
  },
  { additionalProperties: false },
);

export const ChatCompletionRequest = Type.Object(
  {
    ...Sampling,
    messages: Type.Array(ChatMessage, { minItems: 1, maxItems: MAX_MESSAGES }),
    max_completion_tokens: Type.Optional(Type.Integer({ minimum: 1 })),
    add_generation_prompt: Type.Optional(Type.Literal(true)),
  },
  { additionalProperties: false },
);
export type ChatCompletionRequest = Static<typeof ChatCompletionRequest>;

export const TokenizeRequest = Type.Union([
  Type.Object(
    {
      model: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_MODEL })),
      prompt: Type.String({ maxLength: MAX_TEXT }),
      add_special_tokens: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      model: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_MODEL })),
      messages: Type.Array(ChatMessage, { minItems: 1, maxItems: MAX_MESSAGES }),
      add_generation_prompt: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
  // llama.cpp's server shape.
  Type.Object({ content: Type.String({ maxLength: MAX_TEXT }) }, { additionalProperties: false }),
]);
export type TokenizeRequest = Static<typeof TokenizeRequest>;
