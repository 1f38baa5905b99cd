"""GPU check of the real-model path: LoRA GenRM and ORM training and scoring on CUDA in bf16.

Builds a randomly initialised Qwen2 (~`--hidden` wide) with a BPE tokenizer (nothing to download),
writes GSM8K-format verifier rows in the paper's prompt format, then:
  1. trains GenRM (LoRA, next-token loss) and the ORM (LoRA + scalar head) for `--steps` steps,
  2. scores held-out rows with both (one forward pass per batch) and with GenRM-CoT-style K sampling,
and prints the figures (dtype, steps/s, tokens/s, scoring items/s, peak memory) and one JSON line.
Sized for a 10-minute call on one H100/H200; runs on CPU too (`--device cpu`, smaller sizes).

    python bench/gpu_real_path.py [--steps 200] [--hidden 1024] [--layers 12]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import torch

from genrm.core.formats import DECISION
from genrm.engines import TransformersEngine
from genrm.models.model import load_model
from genrm.models.testing import save_tiny_lm  # (offline stand-ins of Hub models)
from genrm.models.training import TrainConfig, train_lm, train_orm
from genrm.tasks.data import PAPER_PROMPT
from genrm.verifiers import CoTVerifier, GenRMVerifier, ORMVerifier


def rows(n: int, seed: int):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b, ok = rng.randint(2, 99), rng.randint(2, 99), rng.random() < 0.5
        ans = a + b if ok else a + b + rng.randint(1, 9)
        q = f"Tom has {a} apples and buys {b} more. How many apples does he have?"
        out.append((PAPER_PROMPT.format(question=q), f"He has {a} + {b} = {ans} apples. The answer is {ans}.", ok))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--n-score", type=int, default=2048)
    ap.add_argument("--k", type=int, default=8)
    args = ap.parse_args()
    dev = args.device
    figures: dict = {"device": torch.cuda.get_device_name(0) if dev.startswith("cuda") else "cpu"}
    tmp = Path(tempfile.mkdtemp(prefix="genrm-gpu-"))
    save_tiny_lm(tmp / "base", arch="qwen2", hidden=args.hidden, heads=max(1, args.hidden // 64), layers=args.layers)
    train, test = rows(args.steps * args.batch, 0), rows(args.n_score, 1)
    tc = TrainConfig(max_steps=args.steps, batch_size=args.batch, lr=1e-3, lora_r=16)
    if dev.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    model, tok = load_model(tmp / "base", device=dev, dtype=torch.float32)
    figures["parameters"] = sum(p.numel() for p in model.parameters())
    log = train_lm(
        model,
        tok,
        [p + s + "\n" + DECISION for p, s, _ in train],
        [" Yes" if y else " No" for *_, y in train],
        tc,
        tmp / "genrm",
        what="GenRM (LoRA)",
    )
    figures["genrm_train"] = {k: log[k] for k in ("steps", "seconds", "tokens_per_second", "train_loss")}
    model, tok = load_model(
        tmp / "base",
        kind="orm",
        device=dev,
        dtype=torch.float32,
        num_labels=1,
        problem_type="multi_label_classification",
    )
    log = train_orm(
        model, tok, [p + s for p, s, _ in train], [y for *_, y in train], tc, tmp / "orm", what="ORM (LoRA)"
    )
    figures["orm_train"] = {k: log[k] for k in ("steps", "seconds", "tokens_per_second", "train_loss")}
    items = [(p, s) for p, s, _ in test]
    for name, make in [
        ("genrm_score", lambda: GenRMVerifier(TransformersEngine(*load_model(tmp / "genrm", device=dev)))),
        ("orm_score", lambda: ORMVerifier.from_pretrained(tmp / "orm", device=dev)),
        (
            "cot_k_score",
            lambda: CoTVerifier(
                TransformersEngine(*load_model(tmp / "genrm", device=dev)), k=args.k, max_new_tokens=32
            ),
        ),
    ]:
        v = make()
        figures["dtype"] = str(next(v.engine.model.parameters()).dtype)
        part = items if name != "cot_k_score" else items[: max(1, len(items) // 8)]
        t = time.time()
        scores = v.score(part)
        sec = time.time() - t
        figures[name] = {"items": len(part), "seconds": round(sec, 2), "items_per_second": round(len(part) / sec, 1)}
        if name != "cot_k_score":
            acc = sum((s[0] > 0.5) == y for s, (*_, y) in zip(scores, test)) / len(part)
            figures[name]["accuracy"] = round(acc, 3)
    if dev.startswith("cuda"):
        figures["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    for k, v in figures.items():
        print(f"{k:14s} {v}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
