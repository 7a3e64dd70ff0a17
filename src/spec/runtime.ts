/**
 * Types only: the runtime seam. A runtime is one kind of inference engine, and its definition is
 * everything the rest of TokenForge knows about it: how to host it in this process (when it can),
 * how to launch it as a local process and as a Kubernetes container, which flags the deployment
 * backend owns, how a deployment's `quant` maps onto it, where its native Prometheus series are,
 * and how its `/health` reads while loading, ready and failed. The control plane and the harness
 * reach engines only through a registry of these.
 */
import type { Resources } from "./deployment.js";
import type { Engine } from "./engine.js";
import type { ResolvedModel } from "./model.js";

/** The version of this seam; the registry refuses a definition written for another one. */
export type RuntimeSpecVersion = "v1";

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
  /**
   * Which build of the engine's native code: node-llama-cpp's prebuilt binaries or a build for
   * this CPU (`tokenforge llamacpp build`); "auto" (undefined) takes the latter when it exists.
   * Runtimes with a single build ignore it.
   */
  binary?: "auto" | "prebuilt" | "native" | undefined;
}

/**
 * A knob a runtime or a backend could not honour as asked. It is stored with the deployment or
 * the run that asked for it, never dropped silently.
 */
export interface SettingWarning {
  kind: "unsupported-setting";
  /** The field of the request, e.g. "quant" or "resources". */
  field: string;
  message: string;
}

/** What a launch depends on: the deployment's model, quant, engine arguments and resources. */
export interface LaunchRequest {
  model: string;
  /** Quantization to serve; the runtime maps it onto its own flags or warns. */
  quant?: string | undefined;
  /** Extra engine arguments; the runtime checks them and refuses the flags it owns. */
  extraArgs: readonly string[];
  resources?: Resources | undefined;
}

/** A command that starts a worker process (no shell: arguments are an array). */
export interface ProcessSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Settings of the request this launch does not honour. */
  warnings?: SettingWarning[];
}

/** An environment variable of a container: a value, or a key of a Secret that may be absent. */
export type ContainerEnvVar =
  | { name: string; value: string }
  | { name: string; secret: { name: string; key: string } };

/** What the Kubernetes backend gives every container launch. */
export interface ContainerContext {
  /** The port the container must listen on (named `http` in the pod and the Service). */
  port: number;
  /** TokenForge's own worker image, for runtimes that `tokenforge` itself serves. */
  workerImage: string;
  /** The image the operator chose for this runtime, replacing the runtime's default. */
  image?: string | undefined;
  /** Secret with a Hugging Face token for engines that download; null for none. */
  hfTokenSecret: { name: string; key: string } | null;
}

/** The container a runtime runs in on Kubernetes. */
export interface ContainerSpec {
  image: string;
  /** Overrides the image's entrypoint when set. */
  command?: string[];
  args: string[];
  env: ContainerEnvVar[];
  /** Where the engine keeps models (downloads, synthetic GGUFs); the model-cache volume mounts here. */
  cachePath: string;
  warnings: SettingWarning[];
}

/**
 * Quantities of a server's own view of a run that the harness samples from `/metrics`. Gauges:
 * `running` and `waiting` requests, `kvCacheUsage` (0..1). Counters: prefix-cache hits and
 * queries, and the sum and count of per-request prefill and decode time in seconds.
 */
export type ServerQuantity =
  | "running"
  | "waiting"
  | "kvCacheUsage"
  | "prefixCacheHits"
  | "prefixCacheQueries"
  | "prefillTimeSum"
  | "prefillTimeCount"
  | "decodeTimeSum"
  | "decodeTimeCount";

/** One native series and the generation of names it belongs to (recorded with a run). */
export interface NativeSeries {
  name: string;
  /** e.g. "tokenforge", "vllm", "vllm-legacy". */
  generation: string;
}

/** Where a runtime's native Prometheus series are and what they mean. */
export interface NativeMetrics {
  /** The path of the exposition, e.g. "/metrics". */
  path: string;
  /** For each quantity the runtime reports, its series, the preferred name first. */
  series: Partial<Record<ServerQuantity, readonly NativeSeries[]>>;
  /**
   * Generations that mark an older server by themselves: when a key's generation is found, the
   * value's is not counted (names kept across generations then read as the older one).
   */
  supersedes?: Readonly<Record<string, string>>;
}

/** How a `/health` answer reads. */
export type HealthState =
  | { state: "loading" }
  | { state: "ready"; body: unknown }
  | { state: "failed"; reason: string };

/** How the runtime answers `/health` while loading, ready and failed. */
export interface HealthContract {
  path: string;
  /** Reads one answer (status and parsed JSON body, or the text when it is not JSON). */
  read(status: number, body: unknown): HealthState;
}

export interface RuntimeDefinition {
  specificationVersion: RuntimeSpecVersion;
  name: string;
  description: string;
  /** Loads the engine in this process; absent for engines that only run as their own server. */
  createEngine?(options: EngineOptions): Promise<Engine>;
  /**
   * The command that serves the request's model on `host:port` as a worker process. Pure: it
   * refuses bad arguments (an owned flag included) with an error naming the field, and starts
   * nothing.
   */
  localProcess(request: LaunchRequest & { host: string; port: number }): ProcessSpec;
  /** The container that serves it on Kubernetes; absent when the runtime has none. */
  container?(request: LaunchRequest, context: ContainerContext): ContainerSpec;
  /** Flags the deployment backend sets from the launch itself; a caller may never set them. */
  ownedFlags: readonly string[];
  health: HealthContract;
  /** Its native series; absent when it serves none the harness knows. */
  metrics?: NativeMetrics;
}
