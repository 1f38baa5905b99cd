"""Tiny randomly initialised Hugging Face models with a byte-level BPE tokenizer built here.

They stand in for "any pretrained causal LM" in tests and benchmarks (no download): saved as ordinary
folders (config, safetensors, tokenizer with a chat template) and loaded back through genrm's normal path.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

CHAT = (
    "{% for m in messages %}<|user|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
CORPUS = [
    "Verification: Is the answer correct (Yes/No)? Yes",
    "Verification: Is the answer correct (Yes/No)? No",
    "Q: Tom has 3 apples and buys 4 more. How many apples? A: Let's think step by step.",
    "3 + 4 = 7. The answer is 7. Step 1 is correct. Step 2 is wrong. Expected Answer: 12",
] * 50


def bpe_tokenizer(chat_template: bool = True) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|endoftext|>", "<|user|>", "<|assistant|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(CORPUS, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    if chat_template:
        fast.chat_template = CHAT
    return fast


def save_tiny_lm(
    path: Path,
    arch: str = "llama",
    chat_template: bool = True,
    seed: int = 0,
    hidden: int = 32,
    heads: int = 4,
    layers: int = 2,
) -> Path:
    """A tiny (default ~50k-parameter) Llama or Qwen2 causal LM and its tokenizer, saved as an HF folder."""
    tok = bpe_tokenizer(chat_template)
    kw = dict(
        vocab_size=len(tok),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=max(1, heads // 2),
        max_position_embeddings=2048,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(LlamaConfig(**kw)) if arch == "llama" else Qwen2ForCausalLM(Qwen2Config(**kw))
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path
