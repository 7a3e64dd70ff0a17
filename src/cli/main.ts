/**
 * The composition root of the CLI: reads the environment once, builds the registries and hands
 * them to each command. One file per command beside this one; `tokenforge.ts` is the executable
 * that runs it. Importing this module runs nothing.
 */
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { readEnv } from "../config.js";
import { isTokenForgeError } from "../errors.js";
import { llamaCppRuntime } from "../runtimes/llamacpp/index.js";
import { openaiRuntime } from "../runtimes/openai/index.js";
import { RuntimeRegistry } from "../runtimes/registry.js";
import { simRuntime } from "../runtimes/sim/index.js";
import { transformersRuntime } from "../runtimes/transformers/index.js";
import { vllmRuntime } from "../runtimes/vllm/index.js";
import { VERSION } from "../version.js";
import { registerBenchCommand } from "./bench.js";
import { registerCompareCommand } from "./compare.js";
import { registerKeysCommand } from "./keys.js";
import { registerLlamaCppCommand } from "./llamacpp.js";
import { registerModelsCommand } from "./models.js";
import { registerPublishCommand } from "./publish.js";
import { registerRemoteCommands } from "./remote.js";
import { registerReportCommand } from "./report.js";
import { registerServeCommand } from "./serve.js";
import { registerSimCommand } from "./sim.js";
import { registerWorkerCommand } from "./worker.js";

/** The executable beside this module (tokenforge.ts from source, tokenforge.js built). */
const ENTRY = fileURLToPath(
  new URL(`./tokenforge${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url),
);

export function buildProgram(): Command {
  const env = readEnv();
  // Worker processes started by TokenForge run this same executable with the same Node.
  const self = { command: process.execPath, args: [...process.execArgv, ENTRY] };
  const runtimes = new RuntimeRegistry([
    llamaCppRuntime(self),
    simRuntime(self),
    transformersRuntime({ python: env.python }),
    openaiRuntime(),
    vllmRuntime(),
  ]);
  const program = new Command("tokenforge")
    .description("Deploy, serve and benchmark LLM inference engines")
    .version(VERSION)
    .showHelpAfterError()
    // Commander's refusals come back to runCli as errors, which gives them their exit status.
    .exitOverride();
  registerWorkerCommand(program, env, runtimes);
  registerModelsCommand(program, env);
  registerBenchCommand(program, env, runtimes);
  registerCompareCommand(program);
  registerPublishCommand(program);
  registerReportCommand(program);
  registerSimCommand(program);
  registerServeCommand(program, env, runtimes);
  registerRemoteCommands(program, env);
  registerKeysCommand(program, env);
  registerLlamaCppCommand(program, env);
  return program;
}

/** Runs the CLI on `argv`; the exit status goes to `process.exitCode`. */
export async function runCli(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; everything else commander refuses is bad usage: exit 2.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    const message = isTokenForgeError(err)
      ? `${err.field ? `${err.field}: ` : ""}${err.message}`
      : err instanceof Error
        ? err.message
        : String(err);
    process.stderr.write(`error: ${message}\n`);
    process.exitCode = isTokenForgeError(err) && err.status < 500 ? 2 : 1;
  }
}
