/**
 * Types only: a runtime is one kind of inference engine. It knows how to host the engine in this
 * process (when it can) and how to start a worker process that serves it over the worker protocol.
 */
import type { Engine } from "./engine.js";
import type { ResolvedModel } from "./model.js";

/** Options the worker passes when it loads an engine in-process. */
export interface EngineOptions {
  model: ResolvedModel;
  /** Sequences generated concurrently in one batch. */
  parallel: number;
  /** Context length per sequence; undefined = the model's, capped by the runtime's default. */
  contextLength: number | undefined;
  /** Tokens per decode call (prompt chunks and the running batch); undefined = the runtime's default. */
  batchSize: number | undefined;
  /** CPU threads; undefined = the runtime's measured default. */
  threads: number | undefined;
  /** "auto" uses a GPU when one is present. */
  gpu: "auto" | false;
}

/** A command that starts a worker process (no shell: arguments are an array). */
export interface ProcessSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
}

export interface RuntimeDefinition {
  name: string;
  description: string;
  /** Loads the engine in this process; absent for engines that only run as their own server. */
  createEngine?(options: EngineOptions): Promise<Engine>;
  /** The command that serves `model` on `port` as a worker process. */
  localProcess(options: { model: string; port: number; host: string; extraArgs: string[] }): ProcessSpec;
}
