/** Command-line flags as runtimes read them: `--flag value` or `--flag=value`. */
import { TokenForgeError } from "../errors.js";

/** The flag part of an argument (`--port=8000` → `--port`). */
export function flagName(arg: string): string {
  const eq = arg.indexOf("=");
  return eq < 0 ? arg : arg.slice(0, eq);
}

/** Whether `args` set any of `flags`. */
export function hasFlag(args: readonly string[], ...flags: string[]): boolean {
  return args.some((a) => flags.includes(flagName(a)));
}

/**
 * Refuses engine arguments that set a flag the deployment backend owns (host, port, model, …):
 * `invalid_request` on `field`, naming every clash and every owned flag.
 */
export function refuseOwnedFlags(
  runtime: string,
  args: readonly string[],
  owned: readonly string[],
  field = "engineArgs",
): void {
  const clash = args.filter((a) => owned.includes(flagName(a)));
  if (clash.length > 0) {
    throw new TokenForgeError(
      "invalid_request",
      `${field} may not set ${clash.join(", ")}: TokenForge sets ${owned.join(", ")} of a ${runtime} worker itself`,
      { field },
    );
  }
}
