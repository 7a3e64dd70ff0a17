/**
 * Runs the simulated server as its own process: `node dist/runtimes/sim/main.js [flags]` (or
 * `tsx src/runtimes/sim/main.ts`); `tokenforge sim [flags]` is the same. Flags: cli.ts.
 */
import { runSim } from "./cli.js";

await runSim(process.argv.slice(2));
