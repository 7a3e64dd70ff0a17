/**
 * A straightforward streaming client, for comparison with the harness's lean one: send times from
 * setTimeout, undici's promise API, async iteration over the body, and `JSON.parse` of every
 * chunk. This is how most benchmark clients are written.
 */
import { Agent, request } from "undici";

export interface NaiveResult {
  lagMs: Float64Array;
  sent: number;
  firstSendMs: number;
  lastSendMs: number;
  ok: number;
}

export async function runNaive(url: string, atMs: Float64Array, body: string): Promise<NaiveResult> {
  const dispatcher = new Agent({ connections: null, pipelining: 1 });
  const lag = new Float64Array(atMs.length);
  const sends = new Float64Array(atMs.length);
  let ok = 0;
  const t0 = performance.now() + 20;
  const one = async (i: number) => {
    const sent = performance.now();
    sends[i] = sent;
    lag[i] = sent - (t0 + atMs[i]!);
    const res = await request(`${url}/v1/completions`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
      dispatcher,
    });
    let rest = "";
    let first: number | undefined;
    for await (const chunk of res.body) {
      const now = performance.now();
      const lines = (rest + (chunk as Buffer).toString("utf8")).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
        const event = JSON.parse(line.slice(6)) as { choices: { text?: string }[] };
        if (first === undefined && event.choices[0]?.text) first = now;
      }
    }
    if (res.statusCode === 200) ok++;
  };
  const pending: Promise<void>[] = [];
  await new Promise<void>((resolve) => {
    let i = 0;
    const tick = () => {
      const now = performance.now();
      while (i < atMs.length && t0 + atMs[i]! <= now) pending.push(one(i++));
      if (i >= atMs.length) return resolve();
      setTimeout(tick, Math.max(0, t0 + atMs[i]! - performance.now()));
    };
    setTimeout(tick, 20);
  });
  await Promise.all(pending);
  await dispatcher.close();
  return { lagMs: lag, sent: atMs.length, firstSendMs: sends[0]!, lastSendMs: sends[atMs.length - 1]!, ok };
}
