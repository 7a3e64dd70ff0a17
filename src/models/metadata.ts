/**
 * GGUF metadata of a synthetic model, with the key names and value types llama.cpp's loader
 * expects (llama-arch.cpp, llama-vocab.cpp): a key with the wrong type is a load error there.
 */
import { type GgufMetadata, gv } from "./gguf-writer.js";
import { headDim, type Preset } from "./presets.js";
import { FILE_TYPE, type Quant } from "./quantize.js";
import { TENSOR_ALIGNMENT } from "./tensor-plan.js";
import { CHAT_TEMPLATE, type Vocabulary } from "./vocab.js";

export interface MetadataInput {
  preset: Preset;
  quant: Quant;
  seed: number;
  contextLength: number;
  vocab: Vocabulary;
  writerVersion: number;
}

export function buildMetadata(m: MetadataInput): GgufMetadata {
  const p = m.preset;
  const a = p.architecture;
  return [
    ["general.architecture", gv.str(a)],
    ["general.type", gv.str("model")],
    ["general.name", gv.str(`TokenForge synthetic ${p.name}`)],
    [
      "general.description",
      gv.str(`${p.description}; seeded random weights (seed ${m.seed}), so the output text is meaningless`),
    ],
    // The weights are random numbers; the only third-party content is the MIT vocabulary.
    ["general.license", gv.str(m.vocab.info.license)],
    ["general.file_type", gv.u32(FILE_TYPE[m.quant])],
    ["general.quantization_version", gv.u32(2)],
    ["general.alignment", gv.u32(TENSOR_ALIGNMENT)],
    [`${a}.block_count`, gv.u32(p.layers)],
    [`${a}.context_length`, gv.u32(m.contextLength)],
    [`${a}.embedding_length`, gv.u32(p.hidden)],
    [`${a}.feed_forward_length`, gv.u32(p.ffn)],
    [`${a}.attention.head_count`, gv.u32(p.heads)],
    [`${a}.attention.head_count_kv`, gv.u32(p.kvHeads)],
    [`${a}.rope.freq_base`, gv.f32(p.ropeTheta)],
    [`${a}.rope.dimension_count`, gv.u32(headDim(p))],
    [`${a}.attention.layer_norm_rms_epsilon`, gv.f32(p.rmsEps)],
    [`${a}.vocab_size`, gv.u32(p.vocab)],
    ["tokenizer.ggml.model", gv.str("gpt2")],
    // llama.cpp's name for Llama 3's pre-tokenizer, whose regex is cl100k_base's.
    ["tokenizer.ggml.pre", gv.str("llama-bpe")],
    ["tokenizer.ggml.tokens", gv.strings(m.vocab.tokens)],
    ["tokenizer.ggml.token_type", gv.i32s(m.vocab.tokenTypes)],
    ["tokenizer.ggml.merges", gv.strings(m.vocab.merges)],
    ["tokenizer.ggml.bos_token_id", gv.u32(m.vocab.bosId)],
    ["tokenizer.ggml.eos_token_id", gv.u32(m.vocab.eosId)],
    ["tokenizer.ggml.eot_token_id", gv.u32(m.vocab.eotId)],
    ["tokenizer.ggml.add_bos_token", gv.bool(true)],
    ["tokenizer.ggml.add_eos_token", gv.bool(false)],
    ["tokenizer.chat_template", gv.str(CHAT_TEMPLATE)],
    ["tokenforge.synthetic.preset", gv.str(p.name)],
    ["tokenforge.synthetic.quant", gv.str(m.quant)],
    ["tokenforge.synthetic.seed", gv.u32(m.seed)],
    ["tokenforge.synthetic.writer_version", gv.u32(m.writerVersion)],
    ["tokenforge.tokenizer.name", gv.str(m.vocab.info.name)],
    ["tokenforge.tokenizer.origin", gv.str(m.vocab.info.origin)],
    ["tokenforge.tokenizer.license", gv.str(m.vocab.info.license)],
  ];
}
