/**
 * `vllm serve`'s command line: quant names mapped to `--dtype` or `--quantization`, the spec's
 * fields to their flags, and engine arguments checked against an allow-list. The local launch and
 * the Kubernetes container share the quant mapping.
 */
import { TokenForgeError } from "../../errors.js";
import { isQuant } from "../../models/quantize.js";
import { SYNTHETIC_PREFIX } from "../../models/reference.js";
import { BACKEND_OWNED_FLAGS, refuseOwnedFlags } from "../flags.js";

/** The one pinned vLLM image (the Kubernetes container's default). */
export const VLLM_IMAGE = "vllm/vllm-openai:v0.11.0";

/** Quant names that are a `--dtype` for vLLM. */
export const VLLM_DTYPES: Readonly<Record<string, string>> = {
  auto: "auto",
  fp16: "float16",
  f16: "float16",
  float16: "float16",
  half: "float16",
  bf16: "bfloat16",
  bfloat16: "bfloat16",
  fp32: "float32",
  f32: "float32",
  float32: "float32",
};

/** Quant names passed as vLLM's `--quantization`. */
export const VLLM_QUANTIZATIONS = [
  "awq",
  "awq_marlin",
  "gptq",
  "gptq_marlin",
  "fp8",
  "bitsandbytes",
  "compressed-tensors",
  "gguf",
  "modelopt",
  "experts_int8",
] as const;

/** Every quant name vLLM accepts here. */
export function vllmQuants(): string[] {
  return [...Object.keys(VLLM_DTYPES), ...VLLM_QUANTIZATIONS];
}

/**
 * The vLLM flags for a quant name (case-insensitive): `["--dtype", d]`, `["--quantization", q]`,
 * plus `--load-format bitsandbytes` for bitsandbytes. Anything else, GGUF quants such as q4_0
 * included, is `invalid_request` on field `quant` listing the accepted names.
 */
export function vllmQuantFlags(quant: string): string[] {
  const q = quant.toLowerCase();
  const dtype = Object.hasOwn(VLLM_DTYPES, q) ? VLLM_DTYPES[q] : undefined;
  if (dtype !== undefined) return ["--dtype", dtype];
  if ((VLLM_QUANTIZATIONS as readonly string[]).includes(q)) {
    return q === "bitsandbytes"
      ? ["--quantization", q, "--load-format", "bitsandbytes"]
      : ["--quantization", q];
  }
  const why = isQuant(q) ? " (a GGUF quant: llamacpp serves those, vllm does not)" : "";
  throw new TokenForgeError(
    "invalid_request",
    `quant "${quant}" has no vllm mapping${why}; valid: ${vllmQuants().join(", ")}`,
    { field: "quant" },
  );
}

/** Engine arguments accepted as they are: `value` flags take one value (`--f v` or `--f=v`). */
const ENGINE_FLAGS: Readonly<Record<string, "bool" | "value">> = {
  "--enable-prefix-caching": "bool",
  "--no-enable-prefix-caching": "bool",
  "--enable-chunked-prefill": "bool",
  "--no-enable-chunked-prefill": "bool",
  "--enforce-eager": "bool",
  "--trust-remote-code": "bool",
  "--disable-log-stats": "bool",
  "--kv-cache-dtype": "value",
  "--max-num-batched-tokens": "value",
  "--swap-space": "value",
  "--cpu-offload-gb": "value",
  "--seed": "value",
  "--load-format": "value",
  "--block-size": "value",
  "--revision": "value",
};

/** Flags with a spec field of their own: allowed in engine args only when that field is unset. */
const SPEC_FLAGS: Readonly<Record<string, keyof VllmSpec>> = {
  "--tensor-parallel-size": "gpus",
  "--max-model-len": "maxModelLen",
  "--gpu-memory-utilization": "gpuMemoryUtilization",
  "--max-num-seqs": "maxNumSeqs",
  "--dtype": "quant",
  "--quantization": "quant",
};
const ALIASES: Readonly<Record<string, string>> = { "-tp": "--tensor-parallel-size", "-q": "--quantization" };
/**
 * Set by TokenForge from the launch itself: where the server listens (`--uds` would make it
 * listen on a socket instead), what it loads and the name it serves it under.
 */
export const VLLM_OWNED_FLAGS = [...BACKEND_OWNED_FLAGS, "--served-model-name", "--uds"] as const;

export interface VllmSpec {
  /** Hugging Face id or a path vLLM can load. */
  model: string;
  quant?: string | undefined;
  /** More than one → `--tensor-parallel-size`. */
  gpus?: number | undefined;
  maxModelLen?: number | undefined;
  gpuMemoryUtilization?: number | undefined;
  maxNumSeqs?: number | undefined;
  /** Extra `vllm serve` arguments, checked against the allow-list. */
  engineArgs: readonly string[];
}

function refuse(message: string, field = "engine_args"): never {
  throw new TokenForgeError("invalid_request", message, { field });
}

/** Checks engine args against the allow-list; returns them unchanged. */
export function checkEngineArgs(engineArgs: readonly string[], spec: Partial<VllmSpec> = {}): string[] {
  refuseOwnedFlags("vllm", engineArgs, VLLM_OWNED_FLAGS);
  for (let i = 0; i < engineArgs.length; i++) {
    const arg = engineArgs[i]!;
    if (!arg.startsWith("-")) refuse(`engine_args: "${arg}" is not a flag (values follow their flag)`);
    const eq = arg.indexOf("=");
    const raw = eq < 0 ? arg : arg.slice(0, eq);
    const flag = ALIASES[raw] ?? raw;
    const specField = Object.hasOwn(SPEC_FLAGS, flag) ? SPEC_FLAGS[flag] : undefined;
    const kind =
      specField !== undefined ? "value" : Object.hasOwn(ENGINE_FLAGS, flag) ? ENGINE_FLAGS[flag] : undefined;
    if (kind === undefined) {
      refuse(
        `engine_args: ${raw} is not an allowed vllm argument; allowed: ${[...Object.keys(ENGINE_FLAGS), ...Object.keys(SPEC_FLAGS)].join(", ")}`,
      );
    }
    if (specField !== undefined && spec[specField] !== undefined) {
      refuse(`engine_args may not set ${raw}: it comes from the deployment's ${specField}`);
    }
    if (kind === "bool") {
      if (eq >= 0) refuse(`engine_args: ${raw} takes no value`);
      continue;
    }
    if (eq >= 0) {
      if (eq === arg.length - 1) refuse(`engine_args: ${raw} needs a value`);
      continue;
    }
    const value = engineArgs[i + 1];
    if (value === undefined || value.startsWith("--")) refuse(`engine_args: ${raw} needs a value`);
    i++;
  }
  return [...engineArgs];
}

function positive(name: keyof VllmSpec, v: number | undefined, max = Number.POSITIVE_INFINITY): void {
  if (v !== undefined && !(Number.isFinite(v) && v > 0 && v <= max)) {
    refuse(`${name} must be a number > 0${max < Number.POSITIVE_INFINITY ? ` and ≤ ${max}` : ""}`, name);
  }
}

/** `serve MODEL` and the flags for `spec` (host and port are the launcher's). */
export function vllmArgs(spec: VllmSpec): string[] {
  // Owned flags first, as every runtime refuses them before anything else.
  refuseOwnedFlags("vllm", spec.engineArgs, VLLM_OWNED_FLAGS);
  if (spec.model.startsWith(SYNTHETIC_PREFIX)) {
    refuse(
      `model "${spec.model}": vllm loads a Hugging Face id or a path, not a synthetic model (for random weights give a Hugging Face id and --load-format dummy in engine_args)`,
      "model",
    );
  }
  if (spec.gpus !== undefined && !(Number.isInteger(spec.gpus) && spec.gpus >= 0)) {
    refuse("gpus must be a whole number ≥ 0", "gpus");
  }
  positive("maxModelLen", spec.maxModelLen);
  positive("gpuMemoryUtilization", spec.gpuMemoryUtilization, 1);
  positive("maxNumSeqs", spec.maxNumSeqs);
  const engineArgs = checkEngineArgs(spec.engineArgs, spec);
  const args = ["serve", spec.model];
  if (spec.quant !== undefined) args.push(...vllmQuantFlags(spec.quant));
  if (spec.gpus !== undefined && spec.gpus > 1) args.push("--tensor-parallel-size", String(spec.gpus));
  if (spec.maxModelLen !== undefined) args.push("--max-model-len", String(spec.maxModelLen));
  if (spec.gpuMemoryUtilization !== undefined) {
    args.push("--gpu-memory-utilization", String(spec.gpuMemoryUtilization));
  }
  if (spec.maxNumSeqs !== undefined) args.push("--max-num-seqs", String(spec.maxNumSeqs));
  args.push(...engineArgs);
  return args;
}
