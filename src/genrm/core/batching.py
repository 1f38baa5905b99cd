"""Batching token sequences: one right/left padding helper and one length-sorted batcher for every
stage (training collation, engines, verifiers)."""

from __future__ import annotations

from typing import Iterator, Sequence

import torch


def pad(seqs: Sequence[Sequence[int]], pad_id: int, left: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """`(ids, attention_mask)`, both (B, T): sequences padded with `pad_id` on the right (training,
    one forward pass) or on the left (generation, so that every row ends at the last column)."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        sl = slice(width - len(s), width) if left else slice(0, len(s))
        ids[r, sl] = torch.as_tensor(list(s), dtype=torch.long)
        mask[r, sl] = 1
    return ids, mask


def length_batches(
    lengths: Sequence[int], max_rows: int, max_tokens: int, extra: int = 0, rows_per_item: int = 1
) -> Iterator[list[int]]:
    """Index batches in length order, capped by rows (`max_rows`) and by padded tokens (`max_tokens`);
    each item may expand to `rows_per_item` rows of its length + `extra` (tokens to generate)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batch: list[int] = []
    for i in order:
        longest = max(lengths[i], max((lengths[j] for j in batch), default=0)) + extra
        rows = (len(batch) + 1) * rows_per_item
        if batch and (rows > max(max_rows, rows_per_item) or longest * rows > max_tokens):
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch
