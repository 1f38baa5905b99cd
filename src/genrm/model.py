"""The built-in tiny model: a Llama-architecture LM with a character-level tokenizer.

Built from a `transformers` config and trained from scratch, it is saved and loaded as an
ordinary Hugging Face folder (`AutoModelForCausalLM.from_pretrained(folder)` and
`AutoTokenizer.from_pretrained(folder)` work without `trust_remote_code`).
"""

from __future__ import annotations

import string
from pathlib import Path

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

from .errors import GenrmError

hf_logging.disable_progress_bar()  # our own progress bars cover loading and saving

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
    vocab = {tok: i for i, tok in enumerate(SPECIALS + CHARS)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
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


def build_tiny_model(size: str = "tiny", seed: int = 0, max_positions: int = 1024):
    """A freshly initialised Llama (rotary positions) of a named size, with its char tokenizer."""
    if size not in SIZES:
        raise GenrmError(f"unknown model size '{size}': choose one of {', '.join(SIZES)}")
    hidden, layers, heads, mlp = SIZES[size]
    tokenizer = char_tokenizer()
    config = LlamaConfig(
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
    config._attn_implementation = _attention(None)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    return model, tokenizer


def _attention(device: str | None) -> str:
    """Eager attention on CPU: with padding masks, SDPA's CPU path is ~2x slower at these sizes."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return "sdpa" if device.startswith("cuda") else "eager"


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def check_model_folder(path: str | Path) -> None:
    """Fail fast, naming the fix, when a local model folder is missing or incomplete."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise GenrmError(f"model path {p} is a file; give a model folder (config.json + weights)")
    if p.is_dir():
        if not (p / "config.json").exists():
            raise GenrmError(f"model folder {p} has no config.json; point to a saved Hugging Face model folder")
        if not any(p.glob("*.safetensors")) and not any(p.glob("*.bin")) and not any(p.glob("*.gguf")):
            raise GenrmError(f"model folder {p} has no weights (*.safetensors/*.bin); re-run the training stage")


def load_model(path: str | Path, kind: str = "causal", device: str | None = None, dtype=None, **model_kwargs):
    """Load a causal LM (or an ORM's sequence-classification model) and its tokenizer.

    `model_kwargs` go to `from_pretrained` (e.g. `num_labels=1` for a new ORM head).
    """
    from transformers import AutoModelForSequenceClassification

    check_model_folder(path)
    if not Path(path).exists() and Path(str(path)).is_absolute():
        raise GenrmError(f"model folder {path} does not exist; train it first or give a Hub id")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if dtype is None:
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    if kind not in ("orm", "causal"):
        raise GenrmError(f"unknown model kind '{kind}': use 'causal' or 'orm'")
    cls = AutoModelForSequenceClassification if kind == "orm" else AutoModelForCausalLM
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        model = cls.from_pretrained(str(path), dtype=dtype, attn_implementation=_attention(device), **model_kwargs)
    except OSError as e:
        raise GenrmError(
            f"cannot load model '{path}': {str(e).splitlines()[0]} (give a local folder or a Hub id)"
        ) from e
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    return model.to(device).eval(), tokenizer
