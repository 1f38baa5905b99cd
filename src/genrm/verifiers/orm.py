"""The discriminative reward model (ORM): sigmoid of a scalar head over (problem, solution)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch

from ..core.device import autocast
from ..core.progress import progress_bar
from ..core.types import Item, Result
from ..engines.hf import TransformersEngine


class ORMVerifier:
    def __init__(self, model: Any, tokenizer: Any, batch_size: int = 256):
        self.engine = TransformersEngine(model, tokenizer, batch_size=batch_size)  # batching and padding
        self.model = model.eval()

    @classmethod
    def from_pretrained(cls, path: str | Path, batch_size: int = 256, **load_kwargs: Any) -> "ORMVerifier":
        """An ORM folder (full model or LoRA adapter over a base; `load_kwargs` go to `load_model`)."""
        from ..models.model import load_model

        model, tok = load_model(path, kind="orm", num_labels=1, **load_kwargs)
        return cls(model, tok, batch_size=batch_size)

    @torch.inference_mode()
    def score(self, items: Sequence[Item], description: str | None = None) -> list[Result]:
        seqs = self.engine.encode([p + s for p, s in items])
        out: list[Result] = [Result(0.0, [], [])] * len(items)
        e = self.engine
        with progress_bar(description, len(seqs)) as (bar, tid):
            for batch in e.batches([len(s) for s in seqs]):
                ids, mask = e.pad([seqs[i] for i in batch], left=False)
                with autocast(e.device):
                    logits = self.model(input_ids=ids, attention_mask=mask).logits.float()  # (B, 1)
                for i, v in zip(batch, torch.sigmoid(logits[:, 0]).tolist()):
                    out[i] = Result(v, [], [])
                bar.advance(tid, len(batch))
        return out
