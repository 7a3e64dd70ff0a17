"""The PyTorch side of the Transformers worker: loading a model (a Hugging Face id, a local path,
or `synthetic:<preset>` with seeded random weights), its tokenizer, and one decoding step.

Only torch and transformers are imported, and only here, so server.py can be syntax-checked and
its HTTP layer exercised without them.
"""

import os
import threading
import time
from urllib.parse import parse_qsl

# Mirrors src/models/presets.ts (the exact shapes of real models); keep the two in step.
PRESETS = {
    "tiny": dict(arch="llama", layers=2, hidden=128, heads=4, kv_heads=2, ffn=384, vocab=100352,
                 ctx=2048, rope_theta=500000.0, rms_eps=1e-5, tied=True),
    "llama-100m": dict(arch="llama", layers=12, hidden=512, heads=8, kv_heads=4, ffn=1536,
                       vocab=128256, ctx=8192, rope_theta=500000.0, rms_eps=1e-5, tied=True),
    "qwen2.5-0.5b": dict(arch="qwen2", layers=24, hidden=896, heads=14, kv_heads=2, ffn=4864,
                         vocab=151936, ctx=32768, rope_theta=1000000.0, rms_eps=1e-6, tied=True),
    "llama-3.2-1b": dict(arch="llama", layers=16, hidden=2048, heads=32, kv_heads=8, ffn=8192,
                         vocab=128256, ctx=131072, rope_theta=500000.0, rms_eps=1e-5, tied=True,
                         rope_scaling=dict(factor=32.0, low=1.0, high=4.0, original=8192)),
    "llama-3.1-8b": dict(arch="llama", layers=32, hidden=4096, heads=32, kv_heads=8, ffn=14336,
                         vocab=128256, ctx=131072, rope_theta=500000.0, rms_eps=1e-5, tied=False,
                         rope_scaling=dict(factor=8.0, low=1.0, high=4.0, original=8192)),
}

SYNTHETIC_PREFIX = "synthetic:"


class ByteTokenizer:
    """The tokenizer of synthetic models when no real one is given: one token per UTF-8 byte.

    ids 0-255 are the bytes, 256 is BOS, 257 is EOS. The other ids a random model samples (up to
    the preset's vocabulary) decode to one printable ASCII character each, so output is readable
    gibberish of one character per token.
    """

    BOS = 256
    EOS = 257
    chat_template = None

    def __init__(self, vocab_size):
        self.vocab_size = vocab_size
        self.eos_token_id = self.EOS
        self.bos_token_id = self.BOS

    def encode(self, text, add_special_tokens=True):
        ids = list(text.encode("utf-8"))
        return [self.BOS] + ids if add_special_tokens else ids

    def decode(self, ids, skip_special_tokens=True):
        out = bytearray()
        for i in ids:
            if i < 256:
                out.append(i)
            elif i > self.EOS:
                out.append(32 + (i - self.EOS - 1) % 95)
        return out.decode("utf-8", errors="replace")


def parse_synthetic(ref):
    """`synthetic:<preset>[?seed=..&ctx=..&quant=..]` → (preset name, shape, seed, ctx)."""
    rest = ref[len(SYNTHETIC_PREFIX):]
    name, _, query = rest.partition("?")
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
    opts = dict(parse_qsl(query))
    unknown = set(opts) - {"seed", "ctx", "quant"}
    if unknown:
        raise ValueError(f"unknown synthetic option(s): {', '.join(sorted(unknown))}")
    shape = PRESETS[name]
    # `quant` names a GGUF quantisation; here the weights' type comes from --dtype instead.
    return name, shape, int(opts.get("seed", 0)), int(opts.get("ctx", shape["ctx"]))


def synthetic_config(shape, ctx):
    from transformers import LlamaConfig, Qwen2Config

    common = dict(
        vocab_size=shape["vocab"], hidden_size=shape["hidden"], intermediate_size=shape["ffn"],
        num_hidden_layers=shape["layers"], num_attention_heads=shape["heads"],
        num_key_value_heads=shape["kv_heads"], max_position_embeddings=ctx,
        rope_theta=shape["rope_theta"], rms_norm_eps=shape["rms_eps"],
        tie_word_embeddings=shape["tied"], bos_token_id=ByteTokenizer.BOS,
        eos_token_id=ByteTokenizer.EOS,
    )
    if shape["arch"] == "qwen2":  # Qwen2 always has q/k/v biases.
        return Qwen2Config(**common)
    rs = shape.get("rope_scaling")
    if rs:
        common["rope_scaling"] = dict(rope_type="llama3", factor=rs["factor"], low_freq_factor=rs["low"],
                                      high_freq_factor=rs["high"],
                                      original_max_position_embeddings=rs["original"])
    return LlamaConfig(attention_bias=False, **common)


def _dtype_kwarg(dtype):
    """transformers renamed `torch_dtype` to `dtype` in 4.56."""
    import transformers

    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return {"dtype": dtype} if (major, minor) >= (4, 56) else {"torch_dtype": dtype}


class TorchModel:
    """A causal LM on one device, stepped one token at a time with a KV cache."""

    def __init__(self, ref, dtype="auto", device="auto", tokenizer=None, trust_remote_code=False):
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        # HTTP threads encode while the generation thread decodes; fast tokenizers are not
        # guaranteed to be safe for that, so tokenizer calls take turns.
        self.tok_lock = threading.Lock()
        started = time.monotonic()
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        if dtype == "auto":
            if self.device.type == "cuda":
                dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
            else:
                dtype = "float32"
        self.dtype_name = dtype
        torch_dtype = getattr(torch, dtype)

        if ref.startswith(SYNTHETIC_PREFIX):
            _, shape, seed, ctx = parse_synthetic(ref)
            config = synthetic_config(shape, ctx)
            torch.manual_seed(seed)
            with self.device:  # build the weights where they will live (no CPU copy of an 8B model)
                self.model = AutoModelForCausalLM.from_config(config, **_dtype_kwarg(torch_dtype))
            self.tokenizer = (
                AutoTokenizer.from_pretrained(tokenizer) if tokenizer else ByteTokenizer(shape["vocab"])
            )
            self.max_model_len = ctx
        else:
            self.tokenizer = AutoTokenizer.from_pretrained(tokenizer or ref, trust_remote_code=trust_remote_code)
            self.model = AutoModelForCausalLM.from_pretrained(
                ref, trust_remote_code=trust_remote_code, **_dtype_kwarg(torch_dtype)
            ).to(self.device)
            self.max_model_len = int(getattr(self.model.config, "max_position_embeddings", 0) or 2048)
        self.model.eval()

        eos = set()
        for source in (getattr(self.model, "generation_config", None), self.model.config, self.tokenizer):
            value = getattr(source, "eos_token_id", None)
            if isinstance(value, int):
                eos.add(value)
            elif isinstance(value, (list, tuple)):
                eos.update(v for v in value if isinstance(v, int))
        self.eos_ids = sorted(eos)
        self.vocab_size = int(self.model.config.vocab_size)
        self.load_seconds = time.monotonic() - started
        self.engine = f"transformers {transformers.__version__}"
        self.torch_version = torch.__version__
        self.threads = torch.get_num_threads()
        self.device_name = (
            torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu"
        )

    # ---- tokenizer ----
    def encode(self, text, add_special_tokens=True):
        with self.tok_lock:
            return list(self.tokenizer.encode(text, add_special_tokens=add_special_tokens))

    def decode(self, ids):
        with self.tok_lock:
            return self.tokenizer.decode(ids, skip_special_tokens=True)

    def has_chat_template(self):
        return bool(getattr(self.tokenizer, "chat_template", None))

    def encode_chat(self, messages, add_generation_prompt=True):
        if self.has_chat_template():
            with self.tok_lock:
                out = self.tokenizer.apply_chat_template(
                    messages, add_generation_prompt=add_generation_prompt, tokenize=True
                )
            if isinstance(out, dict) or hasattr(out, "input_ids"):  # BatchEncoding in newer versions
                out = out["input_ids"]
            return list(out)
        # No template (the byte tokenizer, base models): a plain transcript.
        text = "".join(f"{m['role']}: {m['content']}\n" for m in messages)
        if add_generation_prompt:
            text += "assistant:"
        return self.encode(text)

    # ---- generation ----
    def start(self, prompt_ids, seed):
        """A new sequence: returns its state (KV cache and sampling generator)."""
        gen = None
        if seed is not None:
            gen = self.torch.Generator(device=self.device)
            gen.manual_seed(int(seed))
        return {"past": None, "pending": list(prompt_ids), "gen": gen}

    def step(self, state, temperature, top_p, ban_ids):
        """Feeds what is pending (the prompt, then each sampled token) and samples one token."""
        torch = self.torch
        with torch.inference_mode():
            ids = torch.tensor([state["pending"]], dtype=torch.long, device=self.device)
            out = self.model(input_ids=ids, past_key_values=state["past"], use_cache=True)
            state["past"] = out.past_key_values
            logits = out.logits[0, -1, :].float()
            if ban_ids:
                logits[ban_ids] = float("-inf")
            if temperature <= 0:
                token = int(torch.argmax(logits))
            else:
                probs = torch.softmax(logits / temperature, dim=-1)
                if top_p < 1.0:
                    sorted_p, order = torch.sort(probs, descending=True)
                    keep = torch.cumsum(sorted_p, dim=-1) - sorted_p < top_p
                    sorted_p = sorted_p * keep
                    choice = torch.multinomial(sorted_p / sorted_p.sum(), 1, generator=state["gen"])
                    token = int(order[choice])
                else:
                    token = int(torch.multinomial(probs, 1, generator=state["gen"]))
        state["pending"] = [token]
        return token

    def memory(self):
        if self.device.type != "cuda":
            return None
        return {"allocated_bytes": self.torch.cuda.memory_allocated(self.device)}


def load(args):
    return TorchModel(
        args.model, dtype=args.dtype, device=args.device, tokenizer=args.tokenizer,
        trust_remote_code=args.trust_remote_code,
    )


if __name__ == "__main__":  # `python3 model.py synthetic:tiny` prints what it built
    import sys

    m = TorchModel(sys.argv[1] if len(sys.argv) > 1 else "synthetic:tiny")
    print(m.engine, m.device, m.dtype_name, m.max_model_len, os.getpid())
