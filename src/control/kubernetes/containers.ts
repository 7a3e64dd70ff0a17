/**
 * The container each runtime runs in on Kubernetes: image, arguments, environment and the path its
 * model cache lives at. One plan per runtime kind; a runtime without a plan cannot be deployed
 * here, and the error names the ones that can.
 */
import type { V1EnvVar } from "@kubernetes/client-node";
import { TokenForgeError } from "../../errors.js";
import { isQuant, QUANTS } from "../../models/quantize.js";
import { parseModelRef, SYNTHETIC_PREFIX } from "../../models/reference.js";
import { VLLM_IMAGE, vllmQuantFlags } from "../../runtimes/vllm/index.js";
import type { DeploymentSpec } from "../../spec/deployment.js";

/** Port every worker container listens on, named `http` in the pod and the Service. */
export const WORKER_PORT = 8000;
/** Health path of the worker protocol: 200 once the model is loaded, 503 while loading. */
export const HEALTH_PATH = "/health";

/** What a runtime needs from its pod. */
export interface ContainerPlan {
  image: string;
  /** Overrides the image's entrypoint when set. */
  command?: string[];
  args: string[];
  env: V1EnvVar[];
  /** Where the engine keeps models (downloads, synthetic GGUFs); the model-cache volume mounts here. */
  cachePath: string;
  /** Knobs the runtime could not honour as asked; stored with the deployment, never dropped silently. */
  warnings: string[];
}

export interface ContainerOptions {
  /** TokenForge's version: the worker image's default tag. */
  version: string;
  /** Image of `tokenforge worker`; default `ghcr.io/tokenforge/worker:<version>`. */
  workerImage?: string;
  /** vLLM's OpenAI server image; default {@link DEFAULT_VLLM_IMAGE}. */
  vllmImage?: string;
  /**
   * Secret holding a Hugging Face token for engines that download (optional in the pod: a missing
   * Secret leaves the variable unset). Default `{ name: "hf-token", key: "token" }`; null for none.
   */
  hfTokenSecret?: { name: string; key: string } | null;
}

export const DEFAULT_VLLM_IMAGE = VLLM_IMAGE;
export const DEFAULT_HF_SECRET = { name: "hf-token", key: "token" } as const;
const WORKER_CACHE = "/var/cache/tokenforge";
const HF_CACHE = "/root/.cache/huggingface";

type Planner = (spec: DeploymentSpec, options: ContainerOptions) => ContainerPlan;

const PLANS: Readonly<Record<string, Planner>> = { llamacpp: llamaCppPlan, vllm: vllmPlan };

export function plannedRuntimes(): string[] {
  return Object.keys(PLANS);
}

/** The container for `spec.runtime`; `invalid_request` naming the field for what cannot run. */
export function containerPlan(spec: DeploymentSpec, options: ContainerOptions): ContainerPlan {
  const plan = Object.hasOwn(PLANS, spec.runtime) ? PLANS[spec.runtime] : undefined;
  if (!plan) {
    throw new TokenForgeError(
      "invalid_request",
      `runtime "${spec.runtime}" has no Kubernetes container plan; runtimes with one: ${plannedRuntimes().join(", ")}`,
      { field: "runtime" },
    );
  }
  return plan(spec, options);
}

/** Arguments TokenForge sets itself, which engineArgs may not repeat. */
function rejectReserved(engineArgs: string[], reserved: readonly string[]): void {
  const clash = engineArgs.filter((a) => reserved.includes(a.split("=")[0] ?? a));
  if (clash.length > 0) {
    throw new TokenForgeError(
      "invalid_request",
      `engineArgs may not set ${clash.join(", ")}: the Kubernetes backend sets ${reserved.join(", ")} itself`,
      { field: "engineArgs" },
    );
  }
}

function hasFlag(args: string[], ...flags: string[]): boolean {
  return args.some((a) => flags.includes(a.split("=")[0] ?? a));
}

/** `tokenforge worker --runtime llamacpp` from TokenForge's own image. */
function llamaCppPlan(spec: DeploymentSpec, options: ContainerOptions): ContainerPlan {
  rejectReserved(spec.engineArgs, ["--runtime", "--model", "--host", "--port"]);
  const warnings: string[] = [];
  const model = llamaCppModel(spec, warnings);
  const args = [
    "worker",
    "--runtime",
    "llamacpp",
    "--model",
    model,
    "--host",
    "0.0.0.0",
    "--port",
    String(WORKER_PORT),
  ];
  // Inside a CPU-limited container the machine's core count overstates what the pod may use.
  const threads = wholeCpus(spec.resources.cpu);
  if (threads !== undefined && !hasFlag(spec.engineArgs, "--threads"))
    args.push("--threads", String(threads));
  args.push(...spec.engineArgs);
  return {
    image: options.workerImage ?? `ghcr.io/tokenforge/worker:${options.version}`,
    command: ["tokenforge"],
    args,
    env: [
      { name: "TOKENFORGE_HOME", value: WORKER_CACHE },
      { name: "TOKENFORGE_MODEL_CACHE", value: `${WORKER_CACHE}/models` },
    ],
    cachePath: WORKER_CACHE,
    warnings,
  };
}

function llamaCppModel(spec: DeploymentSpec, warnings: string[]): string {
  const ref = parseModelRef(spec.model, "/");
  if (ref.kind === "file") {
    if (!spec.model.startsWith("/")) {
      throw new TokenForgeError(
        "invalid_request",
        `model "${spec.model}": a GGUF path is read inside the container and must be absolute (the model cache is mounted at ${WORKER_CACHE})`,
        { field: "model" },
      );
    }
    if (spec.quant !== undefined) {
      warnings.push(`quant "${spec.quant}" ignored: the GGUF file ${spec.model} has its own quantization`);
    }
    return spec.model;
  }
  if (spec.quant === undefined) return spec.model;
  const quant = spec.quant.toLowerCase();
  if (!isQuant(quant)) {
    throw new TokenForgeError(
      "invalid_request",
      `quant "${spec.quant}" is not one llamacpp synthesizes; valid: ${QUANTS.join(", ")}`,
      { field: "quant" },
    );
  }
  const query = spec.model.slice(SYNTHETIC_PREFIX.length).split("?")[1];
  if (query !== undefined && new URLSearchParams(query).has("quant")) {
    if (ref.quant !== quant) {
      throw new TokenForgeError(
        "invalid_request",
        `quant "${spec.quant}" contradicts quant=${ref.quant} in model "${spec.model}"`,
        { field: "quant" },
      );
    }
    return spec.model;
  }
  return `${spec.model}${query === undefined ? "?" : "&"}quant=${quant}`;
}

/** Whole CPUs in a quantity ("4" → 4, "2500m" → 2, "500m" → 1); undefined when not given. */
function wholeCpus(cpu: string | undefined): number | undefined {
  if (cpu === undefined) return undefined;
  const milli = cpu.endsWith("m") ? Number(cpu.slice(0, -1)) / 1000 : Number(cpu);
  return Number.isFinite(milli) && milli > 0 ? Math.max(1, Math.floor(milli)) : undefined;
}

/** vLLM's OpenAI-compatible server (`vllm/vllm-openai`, whose entrypoint is the server). */
function vllmPlan(spec: DeploymentSpec, options: ContainerOptions): ContainerPlan {
  rejectReserved(spec.engineArgs, ["--model", "--host", "--port", "--served-model-name"]);
  if (spec.model.startsWith(SYNTHETIC_PREFIX)) {
    throw new TokenForgeError(
      "invalid_request",
      `model "${spec.model}": vllm loads a Hugging Face id or a path, not a synthetic model (for random weights give a Hugging Face id and --load-format dummy in engineArgs)`,
      { field: "model" },
    );
  }
  const warnings: string[] = [];
  const args = [
    "--model",
    spec.model,
    "--host",
    "0.0.0.0",
    "--port",
    String(WORKER_PORT),
    "--served-model-name",
    spec.model,
  ];
  if (spec.quant !== undefined) args.push(...vllmQuantArgs(spec.quant, spec.engineArgs, warnings));
  const gpus = spec.resources.gpus ?? 0;
  if (gpus > 1 && !hasFlag(spec.engineArgs, "--tensor-parallel-size", "-tp")) {
    args.push("--tensor-parallel-size", String(gpus));
  }
  if (gpus === 0) {
    warnings.push(
      `vllm with no GPU: ${options.vllmImage ?? DEFAULT_VLLM_IMAGE} is a CUDA build and needs one unless vllmImage names a CPU build`,
    );
  }
  args.push(...spec.engineArgs);
  const secret = options.hfTokenSecret === undefined ? DEFAULT_HF_SECRET : options.hfTokenSecret;
  const env: V1EnvVar[] = [];
  if (secret !== null) {
    for (const name of ["HUGGING_FACE_HUB_TOKEN", "HF_TOKEN"]) {
      env.push({ name, valueFrom: { secretKeyRef: { name: secret.name, key: secret.key, optional: true } } });
    }
  }
  return { image: options.vllmImage ?? DEFAULT_VLLM_IMAGE, args, env, cachePath: HF_CACHE, warnings };
}

function vllmQuantArgs(quant: string, engineArgs: string[], warnings: string[]): string[] {
  const flags = vllmQuantFlags(quant);
  const flag = flags[0]!;
  if (hasFlag(engineArgs, flag, ...(flag === "--quantization" ? ["-q"] : []))) {
    warnings.push(`quant "${quant}" not applied: engineArgs set ${flag} themselves`);
    return [];
  }
  return flags;
}
