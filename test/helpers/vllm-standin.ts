/**
 * A STAND-IN for vLLM's OpenAI server — not vLLM. vLLM cannot run here (no GPU, no PyPI), so this
 * imitates what TokenForge relies on: the completions/chat/SSE shapes and vLLM's `/tokenize`
 * (`{count, max_model_len, tokens}`), served by the simulated server (src/runtimes/sim) behind a
 * small front that adds what vLLM does differently:
 *
 * - `GET /health`: 200 with an empty body, as vLLM answers;
 * - a scheduler with `maxNumSeqs` slots: requests beyond it wait (vLLM's waiting queue);
 * - `GET /metrics` with vLLM's metric NAMES (v0.11: `vllm:kv_cache_usage_perc`,
 *   `vllm:prefix_cache_*_total`; `legacyNames`: the older `vllm:gpu_cache_usage_perc`,
 *   `vllm:gpu_prefix_cache_*_total`) whose values move with the load: running and waiting
 *   requests, KV usage (tokens reserved by running requests over `kvCapacityTokens`), prefix-cache
 *   queries and hits (blocks of `blockSize` prompt words seen before), prefill time (admission to
 *   first byte) and decode time (first byte to end) histograms;
 * - `metrics: false`: no `/metrics` at all (404, FastAPI's body).
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { countWords, type SimOptions, startSimServer } from "../../src/runtimes/sim/server.js";

export interface VllmStandInOptions {
  model?: string;
  ttftMs?: number;
  itlMs?: number;
  maxModelLen?: number;
  /** Requests scheduled at once (vLLM's --max-num-seqs); the rest wait. Default 4. */
  maxNumSeqs?: number;
  /** KV cache size in tokens. Default 4096. */
  kvCapacityTokens?: number;
  /** Prefix-cache block size in prompt words. Default 16. */
  blockSize?: number;
  /** Expose the older metric names (vLLM ≤ 0.9: `gpu_cache_usage_perc`, `gpu_prefix_cache_*`). */
  legacyNames?: boolean;
  /** Serve /metrics; default true. */
  metrics?: boolean;
}

export interface VllmStandIn {
  url: string;
  /** The exposition `/metrics` would answer now. */
  metricsText(): string;
  close(): Promise<void>;
}

const BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

class Histogram {
  counts = BUCKETS.map(() => 0);
  sum = 0;
  count = 0;
  observe(v: number): void {
    this.sum += v;
    this.count++;
    BUCKETS.forEach((b, i) => {
      if (v <= b) this.counts[i]!++;
    });
  }
}

/** Python's float repr for the values here: integers get ".0". */
const fmt = (v: number): string => (Number.isInteger(v) ? `${v}.0` : String(v));

function promptText(body: unknown): string {
  if (typeof body !== "object" || body === null) return "";
  const b = body as { prompt?: unknown; messages?: unknown };
  if (typeof b.prompt === "string") return b.prompt;
  if (Array.isArray(b.prompt)) return b.prompt.map((p) => (typeof p === "string" ? p : String(p))).join(" ");
  if (Array.isArray(b.messages)) {
    return b.messages
      .map((m) => {
        const c = (m as { content?: unknown }).content;
        return typeof c === "string"
          ? c
          : Array.isArray(c)
            ? c.map((p) => (p as { text?: string }).text ?? "").join(" ")
            : "";
      })
      .join(" ");
  }
  return "";
}

export async function startVllmStandIn(options: VllmStandInOptions = {}): Promise<VllmStandIn> {
  const model = options.model ?? "facebook/opt-125m";
  const maxNumSeqs = options.maxNumSeqs ?? 4;
  const kvCapacity = options.kvCapacityTokens ?? 4096;
  const blockSize = options.blockSize ?? 16;
  const legacy = options.legacyNames ?? false;
  const simOptions: SimOptions = { model, recordGroundTruth: false };
  if (options.ttftMs !== undefined) simOptions.ttftMs = options.ttftMs;
  if (options.itlMs !== undefined) simOptions.itlMs = options.itlMs;
  if (options.maxModelLen !== undefined) simOptions.maxModelLen = options.maxModelLen;
  const sim = await startSimServer(simOptions);
  const upstream = new URL(sim.url);

  let running = 0;
  let kvReserved = 0;
  const waiting: (() => void)[] = [];
  let prefixQueries = 0;
  let prefixHits = 0;
  const seenBlocks = new Set<string>();
  let promptTokensTotal = 0;
  let success = 0;
  const prefill = new Histogram();
  const decode = new Histogram();

  const admit = (): Promise<void> => {
    if (running < maxNumSeqs) {
      running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) =>
      waiting.push(() => {
        running++;
        resolve();
      }),
    );
  };
  const release = (): void => {
    running--;
    waiting.shift()?.();
  };

  /** Prefix-cache lookup of a prompt, then its full blocks cached. */
  const lookup = (text: string): number => {
    const words = text.split(/\s+/).filter((w) => w !== "");
    let key = "";
    let hits = 0;
    let missed = false;
    for (let i = 0; i + blockSize <= words.length; i += blockSize) {
      key += `\u0000${words.slice(i, i + blockSize).join(" ")}`;
      if (!missed && seenBlocks.has(key)) hits += blockSize;
      else missed = true;
      if (seenBlocks.size > 100_000) seenBlocks.clear();
      seenBlocks.add(key);
    }
    return hits;
  };

  const generate = (req: IncomingMessage, res: ServerResponse, raw: Buffer): void => {
    let body: unknown;
    try {
      body = JSON.parse(raw.toString());
    } catch {
      body = undefined;
    }
    const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
    const text = promptText(body);
    const promptTokens = countWords(text);
    const maxTokens = Number(b.max_tokens ?? b.max_completion_tokens ?? 16) || 16;
    const reserve = promptTokens + maxTokens;
    let done = false;
    let clientGone = false;
    res.on("close", () => {
      clientGone = true;
    });
    void admit().then(() => {
      if (clientGone) {
        release();
        return;
      }
      const admitted = performance.now();
      kvReserved += reserve;
      prefixQueries += promptTokens;
      prefixHits += lookup(text);
      promptTokensTotal += promptTokens;
      const finish = (ok: boolean, firstByte: number | undefined): void => {
        if (done) return;
        done = true;
        kvReserved -= reserve;
        if (ok && firstByte !== undefined) {
          success++;
          prefill.observe((firstByte - admitted) / 1000);
          decode.observe((performance.now() - firstByte) / 1000);
        }
        release();
      };
      const up = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: "POST",
          path: req.url,
          headers: { ...req.headers, host: upstream.host, "content-length": String(raw.length) },
        },
        (upRes) => {
          let firstByte: number | undefined;
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.on("data", (chunk: Buffer) => {
            firstByte ??= performance.now();
            res.write(chunk);
          });
          upRes.on("end", () => {
            res.end();
            finish((upRes.statusCode ?? 500) < 400, firstByte);
          });
          upRes.on("error", () => {
            res.destroy();
            finish(false, undefined);
          });
        },
      );
      res.on("close", () => {
        if (!done) {
          up.destroy();
          finish(false, undefined);
        }
      });
      up.on("error", () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
        finish(false, undefined);
      });
      up.end(raw);
    });
  };

  const proxy = (req: IncomingMessage, res: ServerResponse, raw: Buffer): void => {
    const up = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host, "content-length": String(raw.length) },
      },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    up.end(raw);
  };

  const metricsText = (): string => {
    const labels = legacy ? `model_name="${model}"` : `engine="0",model_name="${model}"`;
    const lines: string[] = [];
    const series = (name: string, type: string, help: string, value: number): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}{${labels}} ${fmt(value)}`);
    };
    const counter = (name: string, help: string, value: number): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name}{${labels}} ${fmt(value)}`);
      lines.push(`# HELP ${name.replace(/_total$/, "_created")} ${help}`);
      lines.push(`# TYPE ${name.replace(/_total$/, "_created")} gauge`);
      lines.push(`${name.replace(/_total$/, "_created")}{${labels}} 1.7e+09`);
    };
    const histogram = (name: string, help: string, h: Histogram): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
      BUCKETS.forEach((b, i) => {
        lines.push(`${name}_bucket{${labels},le="${fmt(b)}"} ${fmt(h.counts[i]!)}`);
      });
      lines.push(`${name}_bucket{${labels},le="+Inf"} ${fmt(h.count)}`);
      lines.push(`${name}_count{${labels}} ${fmt(h.count)}`, `${name}_sum{${labels}} ${fmt(h.sum)}`);
    };
    series("vllm:num_requests_running", "gauge", "Number of requests in model execution batches.", running);
    series(
      "vllm:num_requests_waiting",
      "gauge",
      "Number of requests waiting to be processed.",
      waiting.length,
    );
    const kv = Math.min(1, kvReserved / kvCapacity);
    if (legacy)
      series("vllm:gpu_cache_usage_perc", "gauge", "GPU KV-cache usage. 1 means 100 percent usage.", kv);
    else series("vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.", kv);
    const pre = legacy ? "vllm:gpu_prefix_cache" : "vllm:prefix_cache";
    counter(
      `${pre}_queries_total`,
      "Prefix cache queries, in terms of number of queried tokens.",
      prefixQueries,
    );
    counter(`${pre}_hits_total`, "Prefix cache hits, in terms of number of cached tokens.", prefixHits);
    counter("vllm:prompt_tokens_total", "Number of prefill tokens processed.", promptTokensTotal);
    counter("vllm:request_success_total", "Count of successfully processed requests.", success);
    histogram(
      "vllm:request_prefill_time_seconds",
      "Histogram of time spent in PREFILL phase for request.",
      prefill,
    );
    histogram(
      "vllm:request_decode_time_seconds",
      "Histogram of time spent in DECODE phase for request.",
      decode,
    );
    return `${lines.join("\n")}\n`;
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const path = (req.url ?? "/").split("?")[0];
      if (req.method === "GET" && path === "/health") {
        res.writeHead(200, { "content-length": "0" });
        res.end();
      } else if (req.method === "GET" && path === "/metrics") {
        if (options.metrics === false) {
          res.writeHead(404, { "content-type": "application/json" });
          res.end('{"detail":"Not Found"}');
        } else {
          res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
          res.end(metricsText());
        }
      } else if (req.method === "POST" && (path === "/v1/completions" || path === "/v1/chat/completions")) {
        generate(req, res, raw);
      } else {
        proxy(req, res, raw);
      }
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    metricsText,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await sim.close();
    },
  };
}
