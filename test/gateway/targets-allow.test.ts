/**
 * The allow-list of URL targets (targets-allow.ts): by default only the gateway's own
 * deployments; CIDRs, addresses and host names beyond them; a host name is resolved and every
 * address checked, so a name that points at this host is refused like the address itself.
 * Resolution here is real for `localhost`; the names of other tests resolve through a fixed table
 * (a stand-in for DNS, which this machine cannot serve for made-up names).
 */
import { describe, expect, it } from "vitest";
import { isTokenForgeError } from "../../src/errors.js";
import { parseAllowTargets, type Resolve, TargetGuard } from "../../src/gateway/targets-allow.js";

/** A fixed DNS table. */
const table =
  (entries: Record<string, string[]>): Resolve =>
  async (host) => {
    const addresses = entries[host];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };

async function refusal(p: Promise<unknown>): Promise<{ field: string | undefined; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isTokenForgeError(err)) return { field: err.field, message: err.message };
    throw err;
  }
  throw new Error("not refused");
}

const own = ["http://127.0.0.1:40001"];

describe("the default allow-list (empty)", () => {
  const guard = new TargetGuard(parseAllowTargets(""));

  it("lets a run reach the gateway's own deployments only", async () => {
    await expect(guard.check({ sim: "http://127.0.0.1:40001/" }, own)).resolves.toBeUndefined();
    await expect(guard.check({}, own)).resolves.toBeUndefined();
  });

  it("refuses the gateway's own services and every other address, naming the target", async () => {
    for (const url of [
      "http://127.0.0.1:5432",
      "http://127.0.0.1:40002",
      "http://[::1]:5432",
      "http://0.0.0.0:8080",
      "http://169.254.169.254/latest/meta-data",
      "http://10.1.2.3:8000",
      "http://2130706433:5432", // 127.0.0.1 written as a number: the URL parser makes it 127.0.0.1
    ]) {
      const r = await refusal(guard.check({ vllm: url }, own));
      expect(r.field, url).toBe("targets.vllm");
      expect(r.message, url).toContain("--allow-targets");
    }
  });

  it("resolves a host name and refuses it when it points at this host (localhost, for real)", async () => {
    const r = await refusal(guard.check({ sim: "http://localhost:40001" }, own));
    expect(r.field).toBe("targets.sim");
    expect(r.message).toMatch(/localhost resolves to (127\.0\.0\.1|::1)/);
  });

  it("refuses URLs with credentials and other schemes", async () => {
    const listed = new TargetGuard(parseAllowTargets("10.0.0.0/8"));
    expect((await refusal(listed.check({ a: "http://u:p@10.0.0.1/" }, []))).message).toContain("credentials");
    expect((await refusal(listed.check({ a: "file:///etc/passwd" }, []))).message).toContain("http");
  });
});

describe("an operator's allow-list", () => {
  const dns = table({
    "inference.internal": ["10.0.0.5"],
    "rebind.example.org": ["127.0.0.1"],
    "api.example.org": ["203.0.113.7"],
    "mixed.example.org": ["203.0.113.8", "127.0.0.1"],
    "sneaky.test": ["10.9.9.9"],
  });
  const guard = new TargetGuard(parseAllowTargets("10.0.0.0/8, api.example.org, .example.org, ::1"), dns);

  it("allows addresses in a CIDR, names that resolve into one, and listed names", async () => {
    await expect(guard.check({ a: "http://10.3.4.5:8000" }, [])).resolves.toBeUndefined();
    await expect(guard.check({ a: "http://inference.internal:8000" }, [])).resolves.toBeUndefined();
    await expect(guard.check({ a: "https://api.example.org/v1" }, [])).resolves.toBeUndefined();
    await expect(guard.check({ a: "http://[::1]:9000" }, [])).resolves.toBeUndefined();
  });

  it("refuses a listed name that resolves to this host (DNS rebinding), even for one of several addresses", async () => {
    for (const url of ["http://rebind.example.org:5432", "http://mixed.example.org"]) {
      const r = await refusal(guard.check({ a: url }, []));
      expect(r.message, url).toContain("127.0.0.1");
      expect(r.field).toBe("targets.a");
    }
  });

  it("refuses addresses outside the list and names that do not resolve", async () => {
    expect((await refusal(guard.check({ a: "http://192.168.1.1" }, []))).field).toBe("targets.a");
    expect((await refusal(guard.check({ a: "http://127.0.0.1:5432" }, []))).field).toBe("targets.a");
    expect((await refusal(guard.check({ a: "http://nowhere.invalid" }, []))).message).toContain(
      "does not resolve",
    );
  });

  it("refuses bad entries naming them", () => {
    for (const entry of ["10.0.0.0/33", "not a host", "example.org/8", "::1/200"]) {
      expect(() => parseAllowTargets(entry), entry).toThrow(entry.trim());
    }
    expect(parseAllowTargets(" 10.0.0.0/8 ,, host.test ").entries).toEqual(["10.0.0.0/8", "host.test"]);
  });
});
