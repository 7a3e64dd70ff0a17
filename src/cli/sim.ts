/** `tokenforge sim [flags]`: the simulated OpenAI-compatible server (flags: src/runtimes/sim/cli.ts). */
import type { Command } from "commander";
import { runSim } from "../runtimes/sim/cli.js";

export function registerSimCommand(program: Command): void {
  program
    .command("sim")
    .description("serve a simulated OpenAI-compatible engine with fixed, seeded timing (--help for flags)")
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument("[flags...]", "the simulator's own flags, e.g. --port 8000 --ttft-ms 50 --itl-ms 10")
    .action(async (flags: string[]) => {
      await runSim(flags);
    });
}
