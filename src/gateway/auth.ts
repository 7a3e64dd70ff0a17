/**
 * Who may call what on the gateway: one `onRequest` hook, registered before any route, that runs
 * before a body is read and decides every request.
 *
 * 1. `Host` must name this gateway (loopback names, the listen address, or `allowedHosts`): a
 *    page on another site whose name was re-pointed at this machine (DNS rebinding) gets 421.
 * 2. Each route has an access level: `public` (health, the UI page, the API docs), `scrape`
 *    (`/metrics`, Prometheus service discovery: open unless `metricsAuth`), `user` or `admin`.
 *    It comes from the route's `config.access` when it sets one, else from {@link ROUTE_ACCESS},
 *    else `admin`: a route nobody classified is closed to users, never open to everyone.
 * 3. `Authorization: Bearer <key>`: none, unknown or revoked → 401; a `user` key on an `admin`
 *    route → 403. Both with the gateway's coded error body.
 * 4. Per key: a request rate (token bucket) and a number of generations in flight; past either,
 *    429 with `Retry-After`. Every refusal is counted in `tokenforge_gateway_access_refused_total`.
 *
 * With no key at all (none stored, revoked or not, and no TOKENFORGE_ADMIN_KEY) and `openWhenNoKeys`
 * (the composition root sets it only for a loopback listen address), every caller acts as admin.
 *
 * For route handlers: the hook puts the caller on the request as `request.caller`
 * (`{keyId, name, role, open}`; `keyId` undefined when the gateway serves open). Check a role with
 * `requireRole(request, "admin")` (403 otherwise), record the owner of what a caller creates with
 * `ownerOf(request)`, and restrict what a caller reads with `ownerScope(request)` (undefined: sees
 * everything; else only what that key id owns).
 */
import { networkInterfaces, hostname as osHostname } from "node:os";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { TokenForgeError } from "../errors.js";
import type { ApiKeyRole } from "../spec/store.js";
import type { KeyRing } from "./api-keys.js";
import type { GatewayMetrics } from "./metrics.js";

/** A route's access level. */
export type Access = "public" | "scrape" | "user" | "admin";

/** Who is calling: the key's id, name and role; `open` when the gateway serves without keys. */
export interface Caller {
  keyId: string | undefined;
  name: string;
  role: ApiKeyRole;
  open: boolean;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Set by the access hook before any handler runs. */
    caller: Caller;
  }
  interface FastifyContextConfig {
    /** Who may call the route (auth.ts); unset: ROUTE_ACCESS, else admin. */
    access?: Access;
    /** A generation: counted against its key's limit of requests in flight. */
    generation?: boolean;
  }
}

/** Access of the routes that do not say it themselves ("METHOD url", as Fastify names the route). */
export const ROUTE_ACCESS: Readonly<Record<string, Access>> = {
  "GET /health": "public",
  "GET /": "public",
  "GET /ui": "public",
  "GET /ui/": "public",
  "GET /openapi.json": "public",
  "GET /metrics": "scrape",
  "POST /ui/config": "user",
  "POST /deploy": "admin",
  "GET /deployments": "user",
  "GET /deployments/:id": "user",
  "DELETE /deployments/:id": "admin",
  "POST /infer": "user",
  "GET /v1/models": "user",
  "POST /v1/completions": "user",
  "POST /v1/chat/completions": "user",
  // Runs: a user reaches only its own, and starts them only on existing deployments (benchmarks.ts).
  "POST /benchmarks/run": "user",
  "GET /benchmarks": "user",
  "GET /benchmarks/compare": "user",
  "GET /benchmarks/:id": "user",
  "GET /benchmarks/:id/artifacts/*": "user",
  "POST /benchmarks/:id/cancel": "user",
  "POST /benchmarks/:id/resume": "user",
  "GET /keys": "admin",
  "POST /keys": "admin",
  "DELETE /keys/:id": "admin",
};

/** Routes whose requests are generations (limited per key in flight). */
export const GENERATION_ROUTES: ReadonlySet<string> = new Set([
  "POST /infer",
  "POST /v1/completions",
  "POST /v1/chat/completions",
]);

/** Per-key limits when none are configured. */
export const DEFAULT_KEY_LIMITS = { ratePerSecond: 50, burst: 200, maxGenerations: 64 } as const;

export interface KeyLimits {
  /** Requests per second a key may sustain. */
  ratePerSecond: number;
  /** Requests a key may send at once after a quiet spell. */
  burst: number;
  /** Generations of one key in flight at once. */
  maxGenerations: number;
}

export interface AuthOptions {
  keys: KeyRing;
  /** Serve without keys while none exists (only ever true on a loopback listen address). Default true. */
  openWhenNoKeys?: boolean;
  /** Require a key (any role) for `/metrics` and service discovery too. Default false. */
  metricsAuth?: boolean;
  /** The address the gateway listens on (its names are accepted in `Host`). */
  listenHost?: string;
  /** More names `Host` may carry: exact names, `*.example.com`, or `*` for any. */
  allowedHosts?: readonly string[];
  limits?: Partial<KeyLimits>;
  metrics: GatewayMetrics;
}

/** One registered route and who may call it. */
export interface RouteAccess {
  method: string;
  url: string;
  access: Access;
}

export interface GatewayAuth {
  /** Every route registered after the hook, with its access level (HEAD routes included). */
  routes(): RouteAccess[];
  /** Whether the gateway serves without keys right now. */
  readonly open: boolean;
}

/** The access level of a route. */
export function accessOf(method: string, url: string, configured: Access | undefined): Access {
  if (configured !== undefined) return configured;
  const m = method === "HEAD" ? "GET" : method;
  const listed = ROUTE_ACCESS[`${m} ${url}`];
  if (listed !== undefined) return listed;
  // The API docs (Swagger UI and its assets) describe the API and hold no data.
  if (url === "/docs" || url.startsWith("/docs/")) return "public";
  return "admin";
}

/** Registers the access hook; call before any route or plugin with routes is registered. */
export function installAuth(app: FastifyInstance, o: AuthOptions): GatewayAuth {
  const routes: RouteAccess[] = [];
  app.addHook("onRoute", (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const method of methods) {
      routes.push({ method, url: r.url, access: accessOf(method, r.url, r.config?.access) });
    }
  });
  app.decorateRequest("caller", null as unknown as Caller);
  const hosts = new HostCheck(o.listenHost, o.allowedHosts ?? []);
  const limits: KeyLimits = { ...DEFAULT_KEY_LIMITS, ...o.limits };
  const rates = new RateLimiter(limits.ratePerSecond, limits.burst);
  const generations = new Map<string, number>();
  const openWhenNoKeys = o.openWhenNoKeys ?? true;
  const refused = (reason: string) => o.metrics.accessRefused.inc({ reason });

  app.addHook("onRequest", async (req, reply) => {
    if (!hosts.allows(req.headers.host)) {
      refused("bad_host");
      throw new TokenForgeError(
        "misdirected_request",
        `this gateway does not answer for host ${JSON.stringify(String(req.headers.host ?? "")).slice(0, 120)}: call it by its address or a name in --allowed-hosts`,
        { field: "host" },
      );
    }
    const url = req.routeOptions.url;
    const config = req.routeOptions.config as { access?: Access; generation?: boolean } | undefined;
    // No route matched: a key is still needed to learn that (then 404).
    const access = url === undefined ? "user" : accessOf(req.method, url, config?.access);
    const open = openWhenNoKeys && o.keys.empty;
    if (open) {
      req.caller = { keyId: undefined, name: "open", role: "admin", open: true };
      return;
    }
    if (access === "public" || (access === "scrape" && !o.metricsAuth)) {
      req.caller = { keyId: undefined, name: "anonymous", role: "user", open: false };
      return;
    }
    const secret = bearer(req.headers.authorization);
    if (secret === undefined) {
      refused("missing_key");
      reply.header("www-authenticate", 'Bearer realm="tokenforge"');
      throw new TokenForgeError(
        "unauthorized",
        "an API key is required: send Authorization: Bearer <key> (tokenforge keys create makes one)",
        { field: "authorization" },
      );
    }
    const who = o.keys.identify(secret);
    if (typeof who === "string") {
      refused(who);
      reply.header("www-authenticate", 'Bearer realm="tokenforge", error="invalid_token"');
      throw new TokenForgeError(
        "unauthorized",
        who === "revoked_key" ? "this API key has been revoked" : "this API key is not known to the gateway",
        { field: "authorization" },
      );
    }
    req.caller = { ...who, open: false };
    if (access === "admin" && who.role !== "admin") {
      refused("wrong_role");
      throw forbidden(req);
    }
    const wait = rates.take(who.keyId);
    if (wait !== undefined) {
      refused("rate_limited");
      reply.header("retry-after", String(wait));
      throw new TokenForgeError(
        "over_capacity",
        `rate limit: key ${who.keyId} may send ${limits.ratePerSecond} requests per second (bursts of ${limits.burst}); retry in ${wait} s`,
      );
    }
    const isGeneration =
      config?.generation === true || (url !== undefined && GENERATION_ROUTES.has(`${req.method} ${url}`));
    if (isGeneration) holdGeneration(who.keyId, reply);
  });

  function holdGeneration(keyId: string, reply: FastifyReply): void {
    const n = generations.get(keyId) ?? 0;
    if (n >= limits.maxGenerations) {
      refused("too_many_generations");
      reply.header("retry-after", "1");
      throw new TokenForgeError(
        "over_capacity",
        `key ${keyId} already has ${n} generations in flight (the limit per key); retry when one ends`,
      );
    }
    generations.set(keyId, n + 1);
    // The raw response closes however the request ends: answered, streamed, hijacked or abandoned.
    reply.raw.once("close", () => {
      const left = (generations.get(keyId) ?? 1) - 1;
      if (left <= 0) generations.delete(keyId);
      else generations.set(keyId, left);
    });
  }

  return {
    routes: () => [...routes],
    get open() {
      return openWhenNoKeys && o.keys.empty;
    },
  };
}

/** The secret of an `Authorization: Bearer <key>` header, or undefined. */
function bearer(header: string | undefined): string | undefined {
  if (typeof header !== "string") return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m?.[1];
}

function forbidden(req: FastifyRequest): TokenForgeError {
  return new TokenForgeError(
    "forbidden",
    `${req.method} ${req.routeOptions.url ?? req.url} needs the admin role; key ${req.caller.keyId} is a ${req.caller.role} key`,
  );
}

/** 403 unless the caller has `role` (admin has every role; an open gateway's caller is admin). */
export function requireRole(req: FastifyRequest, role: ApiKeyRole, what?: string): void {
  const c = req.caller;
  if (c === null || c === undefined) throw new TokenForgeError("unauthorized", "no caller on this request");
  if (role === "user" || c.role === "admin") return;
  throw new TokenForgeError(
    "forbidden",
    `${what ?? `${req.method} ${req.routeOptions.url ?? req.url}`} needs the admin role; key ${c.keyId} is a ${c.role} key`,
  );
}

/** The key id to record as the owner of what this request creates (undefined on an open gateway). */
export function ownerOf(req: FastifyRequest): string | undefined {
  return req.caller?.keyId;
}

/** Whose things this caller may see: undefined for everything (admin, open gateway), else its key id. */
export function ownerScope(req: FastifyRequest): string | undefined {
  const c = req.caller;
  if (c === null || c === undefined || c.role === "admin") return undefined;
  return c.keyId ?? "";
}

/** Per-key token buckets: `rate` requests per second, at most `burst` at once. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {}

  /** Takes one token for `key`; undefined when allowed, else the whole seconds to wait. */
  take(key: string, now = performance.now()): number | undefined {
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.rate));
  }
}

/** True for an address every name of which stays on this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h) || h === "::ffff:127.0.0.1";
}

/** `Host` checking: the names and addresses a request may use to reach this gateway. */
export class HostCheck {
  private readonly exact = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly any: boolean;

  constructor(listenHost: string | undefined, extra: readonly string[]) {
    for (const h of ["localhost", "127.0.0.1", "::1"]) this.exact.add(h);
    if (listenHost !== undefined) {
      const l = normalize(listenHost);
      if (l === "0.0.0.0" || l === "::" || l === "") {
        // A wildcard listen address answers on every interface: each of them is a fair name.
        for (const list of Object.values(networkInterfaces()))
          for (const a of list ?? []) this.exact.add(normalize(a.address.replace(/%.*$/, "")));
        this.exact.add(normalize(osHostname()));
      } else {
        this.exact.add(l);
      }
    }
    let any = false;
    for (const raw of extra) {
      const h = normalize(raw);
      if (h === "*") any = true;
      else if (h.startsWith("*.")) this.suffixes.push(h.slice(1));
      else if (h !== "") this.exact.add(h);
    }
    this.any = any;
  }

  allows(header: string | undefined): boolean {
    if (this.any) return true;
    if (typeof header !== "string" || header === "") return false;
    const name = hostName(header);
    if (name === undefined) return false;
    if (this.exact.has(name) || name.endsWith(".localhost")) return true;
    return this.suffixes.some((s) => name.endsWith(s) && name.length > s.length);
  }
}

function normalize(h: string): string {
  return h
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
}

/** The name part of a `Host` header (`name`, `name:port`, `[v6]`, `[v6]:port`), normalized. */
function hostName(header: string): string | undefined {
  const h = header.trim();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    if (end < 0) return undefined;
    const rest = h.slice(end + 1);
    if (rest !== "" && !/^:\d{1,5}$/.test(rest)) return undefined;
    return normalize(h.slice(1, end));
  }
  const m = /^([^:]+)(:\d{1,5})?$/.exec(h);
  return m ? normalize(m[1]!) : undefined;
}
