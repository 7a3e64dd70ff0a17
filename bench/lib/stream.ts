/**
 * A minimal streaming client for the benchmarks of the worker: one completion with ignore_eos,
 * timestamps of the first and last content bytes, and the server's token count.
 */
import { request } from "undici";

export interface StreamResult {
  tokens: number;
  /** ms from send to first content chunk. */
  ttftMs: number;
  /** ms from first to last content chunk. */
  decodeMs: number;
}

export async function streamCompletion(
  url: string,
  prompt: string,
  maxTokens: number,
): Promise<StreamResult> {
  const sent = performance.now();
  const res = await request(`${url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      prompt,
      max_tokens: maxTokens,
      ignore_eos: true,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${await res.body.text()}`);
  let first = 0;
  let last = 0;
  let buffered = "";
  let tokens = Number.NaN;
  for await (const chunk of res.body) {
    const now = performance.now();
    buffered += chunk.toString();
    let cut = buffered.indexOf("\n\n");
    while (cut >= 0) {
      const event = buffered.slice(0, cut);
      buffered = buffered.slice(cut + 2);
      cut = buffered.indexOf("\n\n");
      if (!event.startsWith("data: {")) continue;
      const data = JSON.parse(event.slice(6)) as {
        choices: { text: string }[];
        usage?: { completion_tokens: number };
      };
      if ((data.choices[0]?.text ?? "").length > 0) {
        if (first === 0) first = now;
        last = now;
      }
      if (data.usage) tokens = data.usage.completion_tokens;
    }
  }
  if (!Number.isFinite(tokens)) throw new Error("no usage in the stream");
  return { tokens, ttftMs: first - sent, decodeMs: last - first };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
