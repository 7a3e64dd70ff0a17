/**
 * The CLI against a running gateway (`--server URL`, default $TOKENFORGE_SERVER or
 * http://127.0.0.1:8080): `deploy`, `deployments` (and `deployments delete ID`), `infer`
 * (streamed to the terminal), `runs list` / `runs show` / `runs resume`. `bench --server` lives in bench.ts and
 * uses `gatewayRequest` from here. A refusal from the gateway exits 2 with its message; an
 * unreachable gateway exits 1.
 *
 * Each sends the API key from `--api-key` or $TOKENFORGE_API_KEY as `Authorization: Bearer`
 * (the variable is the safer way: a command line is visible to every user of the machine).
 */
import type { Command } from "commander";
import { request } from "undici";
import { renderTable } from "../bench/table.js";
import type { TokenForgeEnv } from "../config.js";
import { TokenForgeError } from "../errors.js";
import { oneOf, positiveInt } from "./parse.js";

export const DEFAULT_SERVER = "http://127.0.0.1:8080";

/** The gateway's URL: the flag, else $TOKENFORGE_SERVER (`fallback`), else the default. */
export function gatewayUrl(flag: string | undefined, fallback: string | undefined): string {
  return (flag ?? fallback ?? DEFAULT_SERVER).replace(/\/+$/, "");
}

/** A gateway to call: its URL and the API key to send, when there is one. */
export interface GatewayConn {
  url: string;
  apiKey?: string | undefined;
}

/** The URL and key of a remote command: flags first, then the environment. */
export function gatewayConn(
  flags: { server?: string | undefined; apiKey?: string | undefined },
  env: Pick<TokenForgeEnv, "server" | "apiKey">,
): GatewayConn {
  const apiKey = flags.apiKey?.trim() || env.apiKey;
  return { url: gatewayUrl(flags.server, env.server), ...(apiKey ? { apiKey } : {}) };
}

/** The headers that carry a connection's key. */
export function authHeaders(conn: GatewayConn | string): Record<string, string> {
  return typeof conn !== "string" && conn.apiKey ? { authorization: `Bearer ${conn.apiKey}` } : {};
}

/** One JSON request to the gateway; its `{error}` answers become coded errors (exit 2 for 4xx). */
export async function gatewayRequest<T>(
  conn: GatewayConn | string,
  method: "GET" | "POST" | "DELETE",
  path: string,
  body?: unknown,
): Promise<T> {
  const server = typeof conn === "string" ? conn : conn.url;
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(`${server}${path}`, {
      method,
      headers: {
        ...authHeaders(conn),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new TokenForgeError(
      "bad_gateway",
      `cannot reach the gateway at ${server}: ${(err as Error).message}`,
    );
  }
  const text = await res.body.text();
  let parsed: unknown;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    parsed = text;
  }
  if (res.statusCode >= 400) {
    const e = (parsed as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
    throw new TokenForgeError(
      codeOf(res.statusCode),
      refusal(res.statusCode, e?.message, `${method} ${path}`),
      {
        ...(e?.field && res.statusCode !== 401 ? { field: e.field } : {}),
      },
    );
  }
  return parsed as T;
}

interface Deployment {
  id: string;
  model: string;
  runtime: string;
  target: string;
  replicas: number;
  status: string;
  endpoints: string[];
  last_error?: string;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** The coded error a gateway's status maps to (4xx → exit 2, 5xx → exit 1). */
function codeOf(
  status: number,
): "not_found" | "unauthorized" | "forbidden" | "invalid_request" | "engine_error" {
  if (status === 404) return "not_found";
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  return status < 500 ? "invalid_request" : "engine_error";
}

/** The gateway's message, with what to do about a missing or refused key. */
function refusal(status: number, message: string | undefined, what: string): string {
  const text = message ?? `${what} answered ${status}`;
  if (status === 401) return `${text} (set TOKENFORGE_API_KEY or pass --api-key)`;
  return text;
}

const API_KEY_HELP = "API key for the gateway (default $TOKENFORGE_API_KEY)";

export function registerRemoteCommands(
  program: Command,
  env: Pick<TokenForgeEnv, "server" | "apiKey">,
): void {
  const serverOf = (flag: string | undefined, apiKey?: string | undefined) =>
    gatewayConn({ server: flag, apiKey }, env);
  program
    .command("deploy")
    .description("deploy a model on a runtime through the gateway")
    .requiredOption("--model <ref>", "model reference")
    .requiredOption("--runtime <name>", "runtime (llamacpp, sim, …)")
    .option("--quant <q>", "quantization the runtime should serve")
    .option("--replicas <n>", "replicas", positiveInt, 1)
    .option("--target <t>", "local or kubernetes", oneOf(["local", "kubernetes"] as const), "local")
    .option("--wait", "wait until the deployment is ready", false)
    .option("--server <url>", "gateway URL")
    .option("--api-key <key>", API_KEY_HELP)
    .action(
      async (f: {
        model: string;
        runtime: string;
        quant?: string;
        replicas: number;
        target: string;
        wait: boolean;
        server?: string;
        apiKey?: string;
      }) => {
        const server = serverOf(f.server, f.apiKey);
        const created = await gatewayRequest<{ id: string; status: string }>(server, "POST", "/deploy", {
          model: f.model,
          runtime: f.runtime,
          replicas: f.replicas,
          target: f.target,
          ...(f.quant ? { quant: f.quant } : {}),
        });
        process.stdout.write(`${created.id} ${created.status}\n`);
        if (!f.wait) return;
        for (;;) {
          const d = await gatewayRequest<Deployment>(server, "GET", `/deployments/${created.id}`);
          if (d.status === "ready") {
            process.stdout.write(`${d.id} ready at ${d.endpoints.join(", ")}\n`);
            return;
          }
          if (d.status === "failed")
            throw new TokenForgeError("engine_error", `${d.id} failed: ${d.last_error ?? "unknown"}`);
          await new Promise((r) => setTimeout(r, 500));
        }
      },
    );

  const deployments = program
    .command("deployments")
    .description("list the gateway's deployments")
    .option("--server <url>", "gateway URL")
    .option("--api-key <key>", API_KEY_HELP)
    .action(async (f: { server?: string; apiKey?: string }) => {
      const list = await gatewayRequest<Deployment[]>(serverOf(f.server, f.apiKey), "GET", "/deployments");
      const rows = [["id", "model", "runtime", "target", "replicas", "status", "endpoints"]];
      for (const d of list)
        rows.push([d.id, d.model, d.runtime, d.target, String(d.replicas), d.status, d.endpoints.join(",")]);
      process.stdout.write(`${table(rows)}\n`);
    });
  deployments
    .command("delete")
    .description("stop and remove a deployment")
    .argument("<id>")
    .option("--server <url>", "gateway URL")
    .option("--api-key <key>", API_KEY_HELP)
    .action(async (id: string, f: { server?: string; apiKey?: string }) => {
      const d = await gatewayRequest<Deployment>(
        serverOf(
          f.server ?? deployments.opts<{ server?: string }>().server,
          f.apiKey ?? deployments.opts<{ apiKey?: string }>().apiKey,
        ),
        "DELETE",
        `/deployments/${encodeURIComponent(id)}`,
      );
      process.stdout.write(`${d.id} ${d.status}\n`);
    });

  program
    .command("infer")
    .description("generate from a deployed model, streamed to the terminal")
    .argument("<prompt>")
    .requiredOption("--model <ref>", "model of a ready deployment")
    .option("--runtime <name>", "runtime, when the model is deployed on several")
    .option("--max-tokens <n>", "tokens to generate", positiveInt, 128)
    .option("--no-stream", "wait for the whole answer")
    .option("--server <url>", "gateway URL")
    .option("--api-key <key>", API_KEY_HELP)
    .action(
      async (
        prompt: string,
        f: {
          model: string;
          runtime?: string;
          maxTokens: number;
          stream: boolean;
          server?: string;
          apiKey?: string;
        },
      ) => {
        const server = serverOf(f.server, f.apiKey);
        const body = {
          model: f.model,
          prompt,
          max_tokens: f.maxTokens,
          stream: f.stream,
          ...(f.runtime ? { runtime: f.runtime } : {}),
        };
        if (!f.stream) {
          const r = await gatewayRequest<{ choices: { text: string }[] }>(server, "POST", "/infer", body);
          process.stdout.write(`${r.choices[0]?.text ?? ""}\n`);
          return;
        }
        const res = await request(`${server.url}/infer`, {
          method: "POST",
          headers: { ...authHeaders(server), "content-type": "application/json" },
          body: JSON.stringify(body),
        }).catch((err: Error) => {
          throw new TokenForgeError(
            "bad_gateway",
            `cannot reach the gateway at ${server.url}: ${err.message}`,
          );
        });
        if (res.statusCode !== 200) {
          const text = await res.body.text();
          const e = (JSON.parse(text) as { error?: { message?: string; field?: string } }).error;
          throw new TokenForgeError(
            codeOf(res.statusCode),
            refusal(res.statusCode, e?.message ?? text, "POST /infer"),
            e?.field && res.statusCode !== 401 ? { field: e.field } : {},
          );
        }
        let rest = "";
        for await (const chunk of res.body) {
          const lines = (rest + (chunk as Buffer).toString("utf8")).split("\n");
          rest = lines.pop() ?? "";
          for (const line of lines) {
            if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
            const text = (JSON.parse(line.slice(6)) as { choices?: { text?: string }[] }).choices?.[0]?.text;
            if (text) process.stdout.write(text);
          }
        }
        process.stdout.write("\n");
      },
    );

  const runs = program.command("runs").description("benchmark runs stored by the gateway");
  runs
    .command("list")
    .description("the gateway's runs, newest first, with their status and key figures")
    .option("--model <m>", "only runs of this model")
    .option("--runtime <r>", "only runs that measured this runtime")
    .option(
      "--status <s>",
      "only runs in this status (queued, running, complete, incomplete, failed, cancelled, interrupted)",
    )
    .option("--server <url>", "gateway URL")
    .option("--api-key <key>", API_KEY_HELP)
    .action(
      async (f: { model?: string; runtime?: string; status?: string; server?: string; apiKey?: string }) => {
        const q = new URLSearchParams();
        if (f.model) q.set("model", f.model);
        if (f.runtime) q.set("runtime", f.runtime);
        if (f.status) q.set("status", f.status);
        const list = await gatewayRequest<
          { id: string; status: string; model: string; runtimes: string[]; createdAt: string }[]
        >(serverOf(f.server, f.apiKey), "GET", `/benchmarks${q.size > 0 ? `?${q}` : ""}`);
        const rows = [["id", "status", "model", "runtimes", "created"]];
        for (const r of list) rows.push([r.id, r.status, r.model, r.runtimes.join(","), r.createdAt]);
        process.stdout.write(`${table(rows)}\n`);
      },
    );
  runs
    .command("show")
    .argument("<id>")
    .option("--json", "the whole record as JSON", false)
    .option("--server <url>", "gateway URL")
    .option("--api-key <key>", API_KEY_HELP)
    .action(async (id: string, f: { json: boolean; server?: string; apiKey?: string }) => {
      const run = await gatewayRequest<RunView>(
        serverOf(f.server, f.apiKey),
        "GET",
        `/benchmarks/${encodeURIComponent(id)}`,
      );
      if (f.json) {
        process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
        return;
      }
      process.stdout.write(printRun(run));
    });
  runs
    .command("resume")
    .description("run an interrupted run's unfinished workloads, with the same plan and seed")
    .argument("<id>")
    .option("--server <url>", "gateway URL")
    .option("--api-key <key>", API_KEY_HELP)
    .action(async (id: string, f: { server?: string; apiKey?: string }) => {
      const run = await gatewayRequest<{ id: string; status: string }>(
        serverOf(f.server, f.apiKey),
        "POST",
        `/benchmarks/${encodeURIComponent(id)}/resume`,
      );
      process.stdout.write(`${run.id}: ${run.status}\n`);
    });
}

export interface RunView {
  id: string;
  status: string;
  model: string;
  error?: string;
  results: { workload: string; runtime: string; metrics: never }[];
  artifacts: { name: string; href: string }[];
}

export function printRun(run: RunView): string {
  const lines = [`${run.id}: ${run.status} (${run.model})${run.error ? ` — ${run.error}` : ""}`];
  if (run.results.length > 0)
    lines.push(
      renderTable(run.results.map((r) => ({ workload: r.workload, runtime: r.runtime, metrics: r.metrics }))),
    );
  for (const a of run.artifacts) lines.push(`  ${a.name}: ${a.href}`);
  return `${lines.join("\n")}\n`;
}
