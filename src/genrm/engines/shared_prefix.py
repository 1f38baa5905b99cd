"""GenRM-CoT's K rationales from one prefill, and p(Yes) by continuing the same KV cache.

The naive path prefills question + solution + "Let's verify step by step." K times (once per
sampled rationale), then re-encodes prompt + rationale + decision line from scratch to read
p(" Yes"). Here, per batch of candidates:

1. the prompts are prefilled once (left-padded, `B` rows) into a `DynamicCache`;
2. the cache is repeated K times along the batch (`B*K` rows) and `generate` samples from it;
3. the decision line (e.g. "\\nVerification: Is the answer correct (Yes/No)?") is fed through the
   cache that generation left behind, masking what each row generated after its own stop, and
   p(choice) is read from the logits at its last token. The rationale counts as its text: where the
   sampled tokens are not the tokeniser's own encoding of that text, the cache is kept only up to
   where they agree and the rest is fed again (so p(Yes) is the value a client computes from the
   returned rationale). Nothing else is computed twice.

Given the same random stream the texts and probabilities equal the naive path's (tested).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Protocol, Sequence

import torch
from transformers import DynamicCache

from ..core.device import autocast
from ..core.progress import progress_bar
from .text import cut_at_stop


class CachedEngine(Protocol):
    """What this module uses of an engine (`genrm.engines.hf.TransformersEngine` is one): a Transformers model
    with its tokenizer, and the engine's encoding, batching, padding and sampling settings."""

    model: Any
    tokenizer: Any
    device: str

    def encode(self, texts: Sequence[str], prefixes: Sequence[str] | None = None) -> list[list[int]]: ...
    def stop_ids(self, stop: Sequence[str]) -> tuple[list[int], list[str]]: ...
    def sampling(self, temperature: float, max_new_tokens: int, stop: Sequence[str] = ()) -> dict: ...
    def batches(self, lengths: list[int], extra: int = 0, rows_per_item: int = 1) -> Any: ...
    def pad(self, seqs: list[list[int]], left: bool) -> tuple[torch.Tensor, torch.Tensor]: ...
    def decision_ids(self, choices: Sequence[str]) -> tuple[list[int], list[int]]: ...
    def choice_probs(self, *args: Any, **kwargs: Any) -> Any: ...


def _cache_kw(model) -> str:
    """The cache argument's name: `cache` in recent Transformers, `past_key_values` before."""
    return "cache" if "cache" in inspect.signature(model.get_decoder().forward).parameters else "past_key_values"


def _positions(mask: torch.Tensor) -> torch.Tensor:
    """Position ids of left-padded rows, as `generate` computes them."""
    return (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)


def _generated_length(tokens: list[int], ends: set[int], tokenizer, stop_strings: Sequence[str]) -> int:
    """How many generated tokens belong to a row: through its first end token or completed stop string."""
    for j, t in enumerate(tokens):
        if t in ends:
            return j + 1
    if stop_strings and any(s in tokenizer.decode(tokens) for s in stop_strings):
        for j in range(1, len(tokens) + 1):
            if any(s in tokenizer.decode(tokens[:j]) for s in stop_strings):
                return j
    return len(tokens)


@torch.inference_mode()
def sample_and_decide(
    engine: CachedEngine,
    prompts: Sequence[str],
    k: int,
    decision: Callable[[str], str],
    choices: Sequence[str],
    max_new_tokens: int,
    temperature: float,
    seed: int,
    stop: Sequence[str],
    description: str | None,
) -> tuple[list[list[str]], list[list[list[float]]]]:
    tok, model = engine.tokenizer, engine.model
    ids = engine.encode(prompts)
    prefix_ids, targets = engine.decision_ids(choices)
    stop_ids, stop_strings = engine.stop_ids(stop)
    eos = tok.eos_token_id
    ends = {i for i in [eos, *stop_ids] if i is not None}
    texts: list[list[str]] = [[] for _ in prompts]
    probs: list[list[list[float]]] = [[] for _ in prompts]
    cache_kw = _cache_kw(model)
    torch.manual_seed(seed)
    with progress_bar(description, len(prompts) * k) as (bar, tid):
        for batch in engine.batches([len(s) for s in ids], extra=max_new_tokens, rows_per_item=k):
            input_ids, mask = engine.pad([ids[i] for i in batch], left=True)  # (B, T)
            width = input_ids.shape[1]
            cache = DynamicCache(config=model.config)
            with autocast(engine.device):
                # 1. one prefill per prompt (all but the last token: generate feeds that one itself)
                model.get_decoder()(
                    input_ids=input_ids[:, :-1],
                    attention_mask=mask[:, :-1],
                    position_ids=_positions(mask)[:, :-1],
                    use_cache=True,
                    **{cache_kw: cache},
                )
                # 2. K samples per prompt from the repeated cache
                cache.batch_repeat_interleave(k)
                rep_mask = mask.repeat_interleave(k, 0)  # (B*K, T)
                gen = model.generate(
                    input_ids=input_ids.repeat_interleave(k, 0),
                    attention_mask=rep_mask,
                    return_dict_in_generate=True,
                    **{cache_kw: cache},
                    **engine.sampling(temperature, max_new_tokens, stop),
                )
            new = gen.sequences[:, width:]  # (B*K, S)
            cache, steps = getattr(gen, "cache", None) or gen.past_key_values, new.shape[1]
            # 3. per row: p(Yes) is read after the rationale *text* tokenised as a whole, as the naive path, a
            #    client and a verifier trained on text all see it (a sampled token sequence need not be the
            #    tokeniser's own: "getgear" sampled as get+gear). The cache keeps the generated tokens that
            #    agree with that tokenisation; the rest of the rationale, the decision line and the choice prefix
            #    are fed on top. A row whose text merges with the prompt's last token is read afresh (`redo`).
            feeds, kept_lens, rows, redo = [], [], [], []
            for r, toks in enumerate(new.tolist()):
                m = _generated_length(toks, ends, tok, stop_strings)
                rationale = cut_at_stop(tok.decode(toks[:m], skip_special_tokens=True), stop)
                prompt_ids = ids[batch[r // k]]
                full = engine.encode([prompts[batch[r // k]]], [decision(rationale)])[0]
                cont = full[len(prompt_ids) :]
                common = 0
                if full[: len(prompt_ids)] == prompt_ids:
                    while common < min(m, len(cont)) and toks[common] == cont[common]:
                        common += 1
                else:
                    redo.append(r)
                    cont = []
                # at least one token is fed, so p(Yes) is read after the row's own last token: a row whose whole
                # continuation was generated (the stop string is the decision line) re-feeds its last one
                in_cache = min(common, steps - 1, len(cont) + len(prefix_ids) - 1)
                feeds.append(cont[in_cache:] + prefix_ids)
                kept_lens.append(in_cache)
                rows.append(rationale)
            width_feed = max(len(f) for f in feeds)
            feed = torch.full((len(feeds), width_feed), tok.pad_token_id, dtype=torch.long)
            feed_mask = torch.zeros_like(feed)
            gen_mask = torch.zeros((len(feeds), steps - 1), dtype=torch.long)
            for r, f in enumerate(feeds):
                feed[r, : len(f)] = torch.tensor(f, dtype=torch.long)
                feed_mask[r, : len(f)] = 1
                gen_mask[r, : kept_lens[r]] = 1
            feed, feed_mask, gen_mask = feed.to(engine.device), feed_mask.to(engine.device), gen_mask.to(engine.device)
            full_mask = torch.cat([rep_mask, gen_mask, feed_mask], dim=1)
            start = rep_mask.sum(1, keepdim=True) + gen_mask.sum(1, keepdim=True)  # (B*K, 1) real tokens so far
            pos = start + torch.arange(width_feed, device=feed.device)[None, :]
            with autocast(engine.device):
                hidden = model.get_decoder()(
                    input_ids=feed,
                    attention_mask=full_mask,
                    position_ids=pos,
                    use_cache=True,
                    **{cache_kw: cache},
                ).last_hidden_state
            last = feed_mask.sum(1) - 1
            h = hidden[torch.arange(len(feeds), device=hidden.device), last]  # (B*K, C)
            p = model.get_output_embeddings()(h).float().softmax(-1)[:, targets].tolist()
            if redo:
                again = engine.choice_probs(
                    [prompts[batch[r // k]] for r in redo], choices, prefixes=[decision(rows[r]) for r in redo]
                )
                for r, row in zip(redo, again):
                    p[r] = row
            for j, i in enumerate(batch):
                texts[i] = rows[j * k : (j + 1) * k]
                probs[i] = p[j * k : (j + 1) * k]
            bar.advance(tid, len(batch) * k)
    return texts, probs
