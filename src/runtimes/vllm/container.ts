/**
 * vLLM on Kubernetes: its OpenAI-compatible server image (`vllm/vllm-openai`, whose entrypoint is
 * the server), the deployment's quant as `--dtype`/`--quantization`, its GPUs as tensor
 * parallelism, and a Hugging Face token from a Secret when there is one.
 */
import { TokenForgeError } from "../../errors.js";
import { SYNTHETIC_PREFIX } from "../../models/reference.js";
import type {
  ContainerContext,
  ContainerEnvVar,
  ContainerSpec,
  LaunchRequest,
  SettingWarning,
} from "../../spec/runtime.js";
import { hasFlag, refuseOwnedFlags } from "../flags.js";
import { VLLM_IMAGE, VLLM_OWNED_FLAGS, vllmQuantFlags } from "./args.js";

const HF_CACHE = "/root/.cache/huggingface";

export function vllmContainer(request: LaunchRequest, context: ContainerContext): ContainerSpec {
  const engineArgs = request.extraArgs;
  refuseOwnedFlags("vllm", engineArgs, VLLM_OWNED_FLAGS);
  if (request.model.startsWith(SYNTHETIC_PREFIX)) {
    throw new TokenForgeError(
      "invalid_request",
      `model "${request.model}": vllm loads a Hugging Face id or a path, not a synthetic model (for random weights give a Hugging Face id and --load-format dummy in engineArgs)`,
      { field: "model" },
    );
  }
  const image = context.image ?? VLLM_IMAGE;
  const warnings: SettingWarning[] = [];
  const args = [
    "--model",
    request.model,
    "--host",
    "0.0.0.0",
    "--port",
    String(context.port),
    "--served-model-name",
    request.model,
  ];
  if (request.quant !== undefined) args.push(...quantArgs(request.quant, engineArgs, warnings));
  const gpus = request.resources?.gpus ?? 0;
  if (gpus > 1 && !hasFlag(engineArgs, "--tensor-parallel-size", "-tp")) {
    args.push("--tensor-parallel-size", String(gpus));
  }
  if (gpus === 0) {
    warnings.push({
      kind: "unsupported-setting",
      field: "resources.gpus",
      message: `vllm with no GPU: ${image} is a CUDA build and needs one unless the vllm image named is a CPU build`,
    });
  }
  args.push(...engineArgs);
  const env: ContainerEnvVar[] = [];
  if (context.hfTokenSecret !== null) {
    for (const name of ["HUGGING_FACE_HUB_TOKEN", "HF_TOKEN"])
      env.push({ name, secret: context.hfTokenSecret });
  }
  return { image, args, env, cachePath: HF_CACHE, warnings };
}

function quantArgs(quant: string, engineArgs: readonly string[], warnings: SettingWarning[]): string[] {
  const flags = vllmQuantFlags(quant);
  const flag = flags[0]!;
  if (hasFlag(engineArgs, flag, ...(flag === "--quantization" ? ["-q"] : []))) {
    warnings.push({
      kind: "unsupported-setting",
      field: "quant",
      message: `quant "${quant}" not applied: engineArgs set ${flag} themselves`,
    });
    return [];
  }
  return flags;
}
