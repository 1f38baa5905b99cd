"""The Transformers engine: any Hugging Face causal LM on CPU or GPU.

Batches are sorted by length so that padding stays small; generation uses the KV cache of
`model.generate`; `choice_probs` runs the LM head only on each row's last position.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from ..core.batching import length_batches, pad
from ..core.device import autocast, cpu_has_bf16
from ..core.errors import GenrmError
from ..core.progress import progress_bar
from .shared_prefix import sample_and_decide
from .text import cut_at_stop, render

__all__ = ["TransformersEngine", "autocast", "cpu_has_bf16", "use_chat_template"]


def use_chat_template(tokenizer, setting: str | bool) -> bool:
    """'auto': use the tokenizer's chat template when it has one; True/'always'; False/'never'."""
    if setting in (True, "always", "on"):
        if not getattr(tokenizer, "chat_template", None):
            raise GenrmError("chat_template is 'always' but the tokenizer has none; use 'auto' or 'never'")
        return True
    if setting in (False, "never", "off", None):
        return False
    if setting == "auto":
        return bool(getattr(tokenizer, "chat_template", None))
    raise GenrmError(f"chat_template '{setting}' is not valid: use auto, always or never")


class TransformersEngine:
    """Any `transformers` causal LM and tokenizer as a genrm engine."""

    def __init__(
        self,
        model,
        tokenizer,
        batch_size: int = 256,
        max_batch_tokens: int = 65536,
        chat_template: bool = False,
    ):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self.chat_template = chat_template
        self.device = str(next(model.parameters()).device)

    @classmethod
    def from_pretrained(cls, path, chat_template: str | bool = False, load_kwargs: dict | None = None, **kwargs):
        """Load `path` (folder, Hub id, or LoRA adapter folder); `chat_template` may be 'auto'."""
        from ..models.model import load_model

        model, tokenizer = load_model(path, **(load_kwargs or {}))
        return cls(model, tokenizer, chat_template=use_chat_template(tokenizer, chat_template), **kwargs)

    def encode(self, texts: Sequence[str], prefixes: Sequence[str] | None = None) -> list[list[int]]:
        """Token ids of prompts (+ the start of the answer, `prefixes`), through the chat template if on."""
        texts = render(self.tokenizer, texts, prefixes, self.chat_template)
        return self.tokenizer(texts, add_special_tokens=not self.chat_template).input_ids

    def stop_ids(self, stop: Sequence[str]) -> tuple[list[int], list[str]]:
        """Stops that are one token become extra EOS ids (cheap); longer ones go to `stop_strings`."""
        ids, strings = [], []
        for s in stop:
            toks = self.tokenizer(s, add_special_tokens=False).input_ids
            if len(toks) == 1 and self.tokenizer.decode(toks) == s:
                ids.append(toks[0])
            else:
                strings.append(s)
        return ids, strings

    def sampling(self, temperature: float, max_new_tokens: int, stop: Sequence[str] = ()) -> dict:
        """`generate` arguments: plain sampling at `temperature` (greedy at 0), ending at EOS or a stop."""
        stop_ids, stop_strings = self.stop_ids(stop)
        eos = [i for i in [self.tokenizer.eos_token_id, *stop_ids] if i is not None]
        extra = {"stop_strings": list(stop_strings), "tokenizer": self.tokenizer} if stop_strings else {}
        return dict(
            do_sample=temperature > 0,
            temperature=temperature if temperature > 0 else None,
            top_k=None,
            top_p=None,
            max_new_tokens=max_new_tokens,
            eos_token_id=eos,
            pad_token_id=self.tokenizer.pad_token_id,
            **extra,
        )

    def batches(self, lengths: list[int], extra: int = 0, rows_per_item: int = 1):
        """Index batches in length order within this engine's row and padded-token caps."""
        return length_batches(lengths, self.batch_size, self.max_batch_tokens, extra, rows_per_item)

    def pad(self, seqs: list[list[int]], left: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """`(ids, attention_mask)` on this engine's device."""
        ids, mask = pad(seqs, self.tokenizer.pad_token_id, left)
        return ids.to(self.device), mask.to(self.device)

    @torch.inference_mode()
    def generate(
        self,
        prompts: Sequence[str],
        n: int = 1,
        max_new_tokens: int = 64,
        temperature: float = 1.0,
        seed: int = 0,
        stop: Sequence[str] = (),
        description: str | None = None,
        prefixes: Sequence[str] | None = None,
    ) -> list[list[str]]:
        """`n` sampled continuations per prompt (greedy when temperature == 0).

        A continuation ends at EOS, after `max_new_tokens`, or before the first of the `stop`
        strings (which is not included, as in the OpenAI API and vLLM). `prefixes` (one per prompt)
        start each answer; the continuation after them is returned.
        """
        ids = self.encode(prompts, prefixes)
        flat = [(p, ids[p]) for p in range(len(prompts)) for _ in range(n)]
        out: list[list[str]] = [[] for _ in prompts]
        texts: dict[int, str] = {}
        torch.manual_seed(seed)
        with progress_bar(description, len(flat)) as (bar, tid):
            for batch in self.batches([len(s) for _, s in flat], extra=max_new_tokens):
                input_ids, mask = self.pad([flat[i][1] for i in batch], left=True)
                with autocast(self.device):
                    gen = self.model.generate(
                        input_ids=input_ids, attention_mask=mask, **self.sampling(temperature, max_new_tokens, stop)
                    )
                new = gen[:, input_ids.shape[1] :].tolist()
                for i, toks in zip(batch, new):
                    texts[i] = cut_at_stop(self.tokenizer.decode(toks, skip_special_tokens=True), stop)
                bar.advance(tid, len(batch))
        for i, (p, _) in enumerate(flat):
            out[p].append(texts[i])
        return out

    def sample_and_decide(
        self,
        prompts: Sequence[str],
        k: int,
        decision: Callable[[str], str],
        choices: Sequence[str] = (" Yes", " No"),
        max_new_tokens: int = 64,
        temperature: float = 1.0,
        seed: int = 0,
        stop: Sequence[str] = (),
        description: str | None = None,
    ) -> tuple[list[list[str]], list[list[list[float]]]]:
        """K rationales per prompt from one shared prefill, and p(choice) after `decision(rationale)`.

        See `genrm.engines.shared_prefix`: the same texts and probabilities as `generate(prompts, n=k)`
        followed by `choice_probs` on every (prompt, decision(rationale)), at a fraction of the cost.
        """
        return sample_and_decide(
            self, prompts, k, decision, choices, max_new_tokens, temperature, seed, stop, description
        )

    def decision_ids(self, choices: Sequence[str]) -> tuple[list[int], list[int]]:
        """Shared token prefix of the choices and the first token where they differ."""
        toks = [self.tokenizer(c, add_special_tokens=False).input_ids for c in choices]
        k = 0
        while all(len(t) > k for t in toks) and len({t[k] for t in toks}) == 1:
            k += 1
        if any(len(t) <= k for t in toks):
            raise ValueError(f"choices {list(choices)} share all tokens; the tokenizer cannot tell them apart")
        return toks[0][:k], [t[k] for t in toks]

    @torch.inference_mode()
    def sequence_logprobs(
        self, prompts: Sequence[str], completions: Sequence[str], description: str | None = None
    ) -> list[float]:
        """log p(completion + EOS | prompt), summed over the completion's tokens and EOS (the prompt encoded as
        `encode` does, with BOS): what a DPO-trained policy assigns to a whole solution."""
        p_ids = self.encode(prompts)
        c_ids = self.tokenizer(list(completions), add_special_tokens=False).input_ids
        eos = [] if self.tokenizer.eos_token_id is None else [self.tokenizer.eos_token_id]
        seqs = [p + c + eos for p, c in zip(p_ids, c_ids)]
        out = [0.0] * len(seqs)
        with progress_bar(description, len(seqs)) as (bar, tid):
            for batch in self.batches([len(s) for s in seqs]):
                ids, mask = self.pad([seqs[i] for i in batch], left=False)
                with autocast(self.device):
                    logits = self.model(input_ids=ids, attention_mask=mask).logits.float()  # (B, T, V)
                logp = logits[:, :-1].log_softmax(-1).gather(-1, ids[:, 1:, None])[..., 0]  # (B, T-1): log p(t+1)
                for row, i in enumerate(batch):  # the completion's tokens are positions len(prompt) .. end
                    out[i] = logp[row, len(p_ids[i]) - 1 : len(seqs[i]) - 1].sum().item()
                bar.advance(tid, len(batch))
        return out

    @torch.inference_mode()
    def choice_probs(
        self, prompts: Sequence[str], choices: Sequence[str] = (" Yes", " No"), description=None, prefixes=None
    ):
        """p(choice) at the decision token after each prompt (+ prefix): one forward pass per batch."""
        prefix, targets = self.decision_ids(choices)
        seqs = [s + prefix for s in self.encode(prompts, prefixes)]
        out: list[list[float]] = [[] for _ in prompts]
        with progress_bar(description, len(seqs)) as (bar, tid):
            for batch in self.batches([len(s) for s in seqs]):
                input_ids, mask = self.pad([seqs[i] for i in batch], left=False)
                last = mask.sum(1) - 1  # (B,) index of each row's last real token
                with autocast(self.device):
                    hidden = self.model.get_decoder()(input_ids=input_ids, attention_mask=mask).last_hidden_state
                h = hidden[torch.arange(len(batch), device=hidden.device), last]  # (B, C)
                logits = self.model.get_output_embeddings()(h).float()  # (B, V): only the decision rows
                probs = logits.softmax(-1)[:, targets]  # (B, len(choices))
                for i, row in zip(batch, probs.tolist()):
                    out[i] = row
                bar.advance(tid, len(batch))
        return out
