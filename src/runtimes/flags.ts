/**
 * Command-line flags as runtimes read them: `--flag value`, `--flag=value`, a short form (`-m v`,
 * `-mv`, `-m=v`) and, for parsers that take them (Python's argparse), an abbreviated long flag
 * (`--mod v`). One rule for every runtime decides whether engine arguments set a flag the
 * deployment backend owns.
 */
import { TokenForgeError } from "../errors.js";

/** What every runtime's backend sets from the launch itself: where the worker listens and what it serves. */
export const BACKEND_OWNED_FLAGS = ["--host", "--port", "--model"] as const;

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
 * The owned flag `arg` sets, or undefined: the flag itself (with or without `=value`), a short
 * owned flag with its value attached (`-mfile`), or a prefix of an owned long flag, which
 * argparse reads as that flag when no other flag shares the prefix (`--po 1` is `--port 1`).
 */
export function ownedFlagOf(arg: string, owned: readonly string[]): string | undefined {
  const name = flagName(arg);
  if (owned.includes(name)) return name;
  if (name.startsWith("--")) {
    if (name.length <= 2) return undefined;
    return owned.find((flag) => flag.startsWith("--") && flag.startsWith(name));
  }
  if (name.startsWith("-") && name.length > 2) {
    return owned.find((flag) => !flag.startsWith("--") && flag.length === 2 && name.startsWith(flag));
  }
  return undefined;
}

/**
 * Refuses engine arguments that set a flag the deployment backend owns (host, port, model, …):
 * `invalid_request` on `field`, naming every clash and every owned flag. Every argument is
 * checked, values included, so a flag cannot hide in the value position of another.
 */
export function refuseOwnedFlags(
  runtime: string,
  args: readonly string[],
  owned: readonly string[],
  field = "engine_args",
): void {
  const clash = args.filter((a) => ownedFlagOf(a, owned) !== undefined);
  if (clash.length > 0) {
    const named = clash.map((a) => {
      const flag = ownedFlagOf(a, owned)!;
      const given = flagName(a);
      return given === flag ? flag : `${given} (${flag})`;
    });
    throw new TokenForgeError(
      "invalid_request",
      `${field} may not set ${named.join(", ")}: TokenForge sets ${owned.join(", ")} of a ${runtime} worker itself`,
      { field },
    );
  }
}
