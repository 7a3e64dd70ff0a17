/**
 * `tokenforge serve`'s settings for what the gateway may touch on callers' behalf: the
 * directories their names resolve in, the hosts runs may reach, and the caps. Each flag falls
 * back to its environment variable (config.ts), then to the default docs/security.md lists.
 */
import { join } from "node:path";
import type { Command } from "commander";
import type { TokenForgeEnv } from "../config.js";
import { CAP_SETTINGS, type CapName, DEFAULT_CAPS, type GatewayCaps } from "../gateway/caps.js";
import type { CallerRoots } from "../gateway/paths.js";
import { parseAllowTargets, type TargetAllowList } from "../gateway/targets-allow.js";
import { isMemoryDir } from "../store/db/pglite.js";
import { positiveInt } from "./parse.js";

export interface ReachFlags {
  datasetsDir?: string;
  modelsDir?: string;
  profilesDir?: string;
  allowTargets?: string;
  maxDeployments?: number;
  maxReplicas?: number;
  maxWorkerProcesses?: number;
  maxConcurrentRuns?: number;
}

const CAP_FLAG_KEYS: Readonly<Record<CapName, keyof ReachFlags>> = {
  deployments: "maxDeployments",
  replicasPerDeployment: "maxReplicas",
  workerProcesses: "maxWorkerProcesses",
  concurrentRuns: "maxConcurrentRuns",
};

const CAP_HELP: Readonly<Record<CapName, string>> = {
  deployments: "deployments in all, runs' own included",
  replicasPerDeployment: "replicas one deployment may ask for",
  workerProcesses: "local worker processes in all (one per local replica)",
  concurrentRuns: "benchmark runs queued or running at once",
};

export function addReachOptions(command: Command): Command {
  command
    .option(
      "--datasets-dir <dir>",
      "dataset files API callers may name (default $TOKENFORGE_DATASETS_DIR, else <data-dir>/datasets)",
    )
    .option(
      "--models-dir <dir>",
      "model files and directories deployments may name besides synthetic:… (default $TOKENFORGE_MODELS_DIR)",
    )
    .option(
      "--profiles-dir <dir>",
      "cost profiles API callers may name (default $TOKENFORGE_PROFILES_DIR, else the shipped configs/cost-profiles)",
    )
    .option(
      "--allow-targets <list>",
      "comma-separated CIDRs, addresses and host names (.example.org: every name under it) that runs may reach beyond the gateway's own deployments (default $TOKENFORGE_ALLOW_TARGETS, else none)",
    );
  for (const cap of Object.keys(CAP_SETTINGS) as CapName[]) {
    const { flag, env } = CAP_SETTINGS[cap];
    command.option(
      `${flag} <n>`,
      `${CAP_HELP[cap]} (default $${env}, else ${DEFAULT_CAPS[cap]})`,
      positiveInt,
    );
  }
  return command;
}

export interface GatewayReach {
  callerRoots: Pick<CallerRoots, "datasetsDir" | "profilesDir">;
  modelRoots: Pick<CallerRoots, "modelsDir">;
  allowTargets: TargetAllowList;
  caps: GatewayCaps;
}

/** The settings from the flags, the environment and the defaults; a bad allow-list entry is refused (exit 2). */
export function gatewayReach(flags: ReachFlags, env: TokenForgeEnv, dataDir: string): GatewayReach {
  const datasetsDir =
    flags.datasetsDir ?? env.datasetsDir ?? (isMemoryDir(dataDir) ? undefined : join(dataDir, "datasets"));
  const modelsDir = flags.modelsDir ?? env.modelsDir;
  const profilesDir = flags.profilesDir ?? env.profilesDir;
  const caps = { ...DEFAULT_CAPS, ...env.caps };
  for (const cap of Object.keys(CAP_FLAG_KEYS) as CapName[]) {
    const v = flags[CAP_FLAG_KEYS[cap]];
    if (typeof v === "number") caps[cap] = v;
  }
  return {
    callerRoots: {
      ...(datasetsDir === undefined ? {} : { datasetsDir }),
      ...(profilesDir === undefined ? {} : { profilesDir }),
    },
    modelRoots: modelsDir === undefined ? {} : { modelsDir },
    allowTargets: parseAllowTargets(flags.allowTargets ?? env.allowTargets, "allow-targets"),
    caps,
  };
}
