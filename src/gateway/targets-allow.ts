/**
 * Which URLs a run started over the API may make the gateway connect to. By default only the
 * gateway's own deployments (their ready endpoints); beyond them, what the operator allows with
 * `--allow-targets`: CIDRs (`10.0.0.0/8`, `::1/128`), single addresses, and host names (exact,
 * or `.example.org` for every name under it). A host name is resolved here and every address it
 * resolves to is checked too: a name on nobody's list that points at 127.0.0.1 (DNS rebinding,
 * or a name made for the purpose) is refused like 127.0.0.1 itself. An allowed name still may
 * not resolve to this host (loopback, unspecified, link-local) unless an address entry allows it.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { TokenForgeError } from "../errors.js";

/** Resolves a host name to every address it has (node:dns's `lookup` with `all: true`). */
export type Resolve = (host: string) => Promise<{ address: string; family: number }[]>;

const systemResolve: Resolve = (host) => dnsLookup(host, { all: true, verbatim: true });

/** The operator's allow-list, parsed. */
export interface TargetAllowList {
  /** The entries as given, for messages and docs. */
  readonly entries: readonly string[];
  readonly addresses: BlockList;
  readonly hosts: readonly string[];
  readonly suffixes: readonly string[];
}

/** Addresses that are this host whatever the list says about names: loopback, unspecified, link-local. */
const THIS_HOST = new BlockList();
THIS_HOST.addSubnet("127.0.0.0", 8, "ipv4");
THIS_HOST.addSubnet("0.0.0.0", 8, "ipv4");
THIS_HOST.addSubnet("169.254.0.0", 16, "ipv4");
THIS_HOST.addAddress("::1", "ipv6");
THIS_HOST.addAddress("::", "ipv6");
THIS_HOST.addSubnet("fe80::", 10, "ipv6");

const HOST_NAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * Parses `--allow-targets` (comma-separated, or a list). A bad entry is an `invalid_request`
 * on `field` naming it.
 */
export function parseAllowTargets(
  spec: string | readonly string[],
  field = "allow-targets",
): TargetAllowList {
  const entries = (typeof spec === "string" ? spec.split(",") : [...spec])
    .map((e) => e.trim())
    .filter((e) => e !== "");
  const addresses = new BlockList();
  const hosts: string[] = [];
  const suffixes: string[] = [];
  for (const entry of entries) {
    const bad = (why: string): never => {
      throw new TokenForgeError("invalid_request", `${field}: "${entry}" ${why}`, { field });
    };
    const slash = entry.indexOf("/");
    const address = (slash < 0 ? entry : entry.slice(0, slash)).replace(/^\[|\]$/g, "");
    const family = isIP(address);
    if (family !== 0) {
      const type = family === 4 ? "ipv4" : "ipv6";
      if (slash < 0) {
        addresses.addAddress(address, type);
        continue;
      }
      const prefix = Number(entry.slice(slash + 1));
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
        bad(`has no valid prefix length (0–${family === 4 ? 32 : 128})`);
      }
      addresses.addSubnet(address, prefix, type);
      continue;
    }
    if (slash >= 0) bad("is not a CIDR: the address before / is not an IP address");
    const name = entry.toLowerCase();
    if (name.startsWith(".") && HOST_NAME.test(name.slice(1))) suffixes.push(name);
    else if (HOST_NAME.test(name)) hosts.push(name);
    else bad("is neither a CIDR, an IP address nor a host name (a leading . allows every name under it)");
  }
  return { entries, addresses, hosts, suffixes };
}

/** Nothing beyond the gateway's own deployments. */
export const NO_TARGETS: TargetAllowList = parseAllowTargets([]);

function family(address: string): "ipv4" | "ipv6" {
  return isIP(address) === 6 ? "ipv6" : "ipv4";
}

function hostAllowed(list: TargetAllowList, host: string): boolean {
  return list.hosts.includes(host) || list.suffixes.some((s) => host.endsWith(s));
}

/** URL targets checked against the allow-list and the gateway's own deployments. */
export class TargetGuard {
  constructor(
    private readonly list: TargetAllowList,
    private readonly resolve: Resolve = systemResolve,
  ) {}

  /**
   * Refuses (`invalid_request` on `targets.<runtime>`) any target the gateway may not connect
   * to; `own` are the endpoints of the gateway's own deployments, always allowed.
   */
  async check(targets: Readonly<Record<string, string>>, own: readonly string[]): Promise<void> {
    const owned = new Set(own.map(origin).filter((o): o is string => o !== undefined));
    for (const [runtime, url] of Object.entries(targets)) {
      const field = `targets.${runtime}`;
      const refuse = (why: string): never => {
        throw new TokenForgeError(
          "invalid_request",
          `${field}: ${why}; a run started over the API reaches the gateway's own deployments and the hosts its operator allows (--allow-targets${this.list.entries.length > 0 ? `: ${this.list.entries.join(", ")}` : ", empty"})`,
          { field },
        );
      };
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        return refuse("is not a URL");
      }
      if (parsed.protocol !== "http:" && parsed.protocol !== "https:") refuse("must be an http or https URL");
      if (parsed.username !== "" || parsed.password !== "") refuse("may not carry credentials");
      if (owned.has(parsed.origin)) continue;
      const host = parsed.hostname.replace(/^\[|\]$/g, "").toLowerCase();
      if (isIP(host) !== 0) {
        if (!this.list.addresses.check(host, family(host)))
          refuse(`${parsed.host} is not an allowed address`);
        continue;
      }
      const byName = hostAllowed(this.list, host);
      let resolved: { address: string }[];
      try {
        resolved = await this.resolve(host);
      } catch {
        return refuse(`${parsed.hostname} does not resolve`);
      }
      if (resolved.length === 0) refuse(`${parsed.hostname} does not resolve`);
      for (const { address } of resolved) {
        const type = family(address);
        if (this.list.addresses.check(address, type)) continue;
        if (byName && !THIS_HOST.check(address, type)) continue;
        refuse(
          byName
            ? `${parsed.hostname} resolves to ${address}, this host's own address, which the allow-list does not name`
            : `${parsed.hostname} resolves to ${address}, which is not an allowed address`,
        );
      }
    }
  }
}

function origin(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
