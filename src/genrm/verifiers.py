"""Verifiers: score (solve prompt, solution) pairs.

- `ORMVerifier`: sigmoid of a scalar head (discriminative reward model).
- `GenRMVerifier`: p(" Yes") at the decision token after the direct verification prompt.
- `CoTVerifier`: GenRM-CoT: sample K rationales, read p(" Yes") after each, average (majority
  voting). With an untuned model it is the LLM-as-a-Judge baseline.
Every verifier returns `(score, votes, rationales)` per item.
"""

from __future__ import annotations

from typing import Sequence

import torch

from .engines import TransformersEngine, autocast
from .formats import VerifyFormat
from .progress import progress_bar
from .types import Engine, Result

Item = tuple[str, str]  # (solve prompt, solution)


class ORMVerifier:
    def __init__(self, model, tokenizer, batch_size: int = 256):
        self.engine = TransformersEngine(model, tokenizer, batch_size=batch_size)  # batching and padding
        self.model = model.eval()

    @classmethod
    def from_pretrained(cls, path, batch_size: int = 256, **load_kwargs) -> "ORMVerifier":
        """An ORM folder (full model or LoRA adapter over a base; `load_kwargs` go to `load_model`)."""
        from .model import load_model

        model, tok = load_model(path, kind="orm", num_labels=1, **load_kwargs)
        return cls(model, tok, batch_size=batch_size)

    @torch.inference_mode()
    def score(self, items: Sequence[Item], description: str | None = None) -> list[Result]:
        seqs = self.engine.encode([p + s for p, s in items])
        out: list[Result] = [(0.0, [], [])] * len(items)
        e = self.engine
        with progress_bar(description, len(seqs)) as (bar, tid):
            for batch in e._batches([len(s) for s in seqs]):
                ids, mask = e._pad([seqs[i] for i in batch], left=False)
                with autocast(e.device):
                    logits = self.model(input_ids=ids, attention_mask=mask).logits.float()  # (B, 1)
                for i, v in zip(batch, torch.sigmoid(logits[:, 0]).tolist()):
                    out[i] = (v, [], [])
                bar.advance(tid, len(batch))
        return out


class GenRMVerifier:
    def __init__(self, engine: Engine, fmt: VerifyFormat | None = None, normalize: bool = False):
        self.engine, self.fmt, self.normalize = engine, fmt or VerifyFormat(), normalize

    def score(self, items: Sequence[Item], description: str | None = None) -> list[Result]:
        prompts = [self.fmt.direct_prompt(p, s) for p, s in items]
        probs = self.engine.choice_probs(prompts, (self.fmt.yes, self.fmt.no), description=description)
        return [(_yes(py, pn, self.normalize), [], []) for py, pn in probs]


class CoTVerifier:
    def __init__(
        self,
        engine: Engine,
        k: int = 4,
        fmt: VerifyFormat | None = None,
        temperature: float = 1.0,
        max_new_tokens: int = 128,
        normalize: bool = False,
        seed: int = 0,
        shared_prefix: bool = True,
    ):
        self.engine, self.k, self.fmt = engine, k, fmt or VerifyFormat()
        self.temperature, self.max_new_tokens, self.normalize, self.seed = temperature, max_new_tokens, normalize, seed
        # one prefill per candidate for its K rationales, where the engine can (Transformers; vLLM caches prefixes)
        self.shared_prefix = shared_prefix and hasattr(engine, "sample_and_decide")

    def score(self, items: Sequence[Item], description: str | None = None) -> list[Result]:
        cot_prompts = [self.fmt.cot_prompt(p, s) for p, s in items]
        rationales, probs = (self._shared if self.shared_prefix else self._naive)(cot_prompts, description)
        out = []
        for rs, ps in zip(rationales, probs):
            votes = [_yes(py, pn, self.normalize) for py, pn in ps]
            out.append((sum(votes) / len(votes), votes, rs))
        return out

    def _shared(self, cot_prompts: list[str], description: str | None):
        """K rationales per candidate from one prefill; p(Yes) continuing the same cache."""
        return self.engine.sample_and_decide(
            cot_prompts,
            self.k,
            self.fmt.decision_prefix,
            (self.fmt.yes, self.fmt.no),
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            seed=self.seed,
            stop=self.fmt.rationale_stop,
            description=description and f"{description}: rationales",
        )

    def _naive(self, cot_prompts: list[str], description: str | None):
        """K rationales per candidate (each prefilled), then p(Yes) after each, encoded from scratch."""
        rationales = self.engine.generate(
            cot_prompts,
            n=self.k,
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            seed=self.seed,
            stop=self.fmt.rationale_stop,
            description=description and f"{description}: rationales",
        )
        queries = [cp for cp, rs in zip(cot_prompts, rationales) for _ in rs]
        prefixes = [self.fmt.decision_prefix(r) for rs in rationales for r in rs]
        flat = self.engine.choice_probs(queries, (self.fmt.yes, self.fmt.no), prefixes=prefixes)
        return rationales, [flat[i * self.k : (i + 1) * self.k] for i in range(len(rationales))]


def _yes(p_yes: float, p_no: float, normalize: bool) -> float:
    return p_yes / max(p_yes + p_no, 1e-12) if normalize else p_yes
