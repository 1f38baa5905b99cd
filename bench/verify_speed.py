"""Verification speed, measured side by side in one run on the same candidates (issue: fast verification).

Prints, then ends with one line of JSON holding every figure:
- direct GenRM scoring time / ORM scoring time at the same model size (target <= 1.05), and the same
  ratio per token (GenRM's input is longer by the decision line);
- GenRM-CoT with K rationales: shared-prefix time / naive K-fold prefill time (target <= 0.5);
- achieved FLOP/s of the direct scoring pass over this machine's measured matmul FLOP/s, and tokens/s;
- peak memory of each (CUDA: max allocated; CPU: peak RSS growth, sampled every 5 ms).

    python bench/verify_speed.py                   # built-in tiny model (random weights), last-letter
    python bench/verify_speed.py --run genrm-runs/quickstart-last_letter-cpu   # trained models of a run
    python bench/verify_speed.py --task gsm8k --data ../shared/data/gsm8k --n 256   # long GSM8K inputs
    python bench/verify_speed.py --device cuda --size base --n 2048            # on a GPU (bf16 autocast)
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path

import torch

from genrm.engines import TransformersEngine, autocast
from genrm.models.model import build_tiny_model, load_model, n_params
from genrm.tasks import get_task
from genrm.verifiers import CoTVerifier, GenRMVerifier, ORMVerifier


class PeakMemory:
    """Peak memory growth during a block: CUDA allocator peak, or process RSS sampled in a thread."""

    def __init__(self, device: str):
        self.cuda = device.startswith("cuda")

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def __enter__(self):
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        else:
            self.base = self.peak = self._rss()
            self.running = True
            self.thread = threading.Thread(target=self._sample, daemon=True)
            self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, self._rss())
            time.sleep(0.005)

    def __exit__(self, *exc):
        if self.cuda:
            torch.cuda.synchronize()
            self.mib = (torch.cuda.max_memory_allocated() - self.base) / 2**20
        else:
            self.running = False
            self.thread.join()
            self.mib = (self.peak - self.base) / 2**20


def matmul_flops(device: str, seconds: float = 2.0) -> float:
    """Measured FLOP/s of a large square matmul in the dtype scoring runs in (the physical ceiling)."""
    n = 4096 if device.startswith("cuda") else 1024
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    with autocast(device):
        a @ b  # warm-up
        reps, t = 0, time.perf_counter()
        while time.perf_counter() - t < seconds:
            a @ b
            reps += 1
        if device.startswith("cuda"):
            torch.cuda.synchronize()
    return 2 * n**3 * reps / (time.perf_counter() - t)


def timed(device, fn):
    with PeakMemory(device) as mem:
        t = time.perf_counter()
        out = fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        sec = time.perf_counter() - t
    return out, sec, mem.mib


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", help="a run folder: use its trained generator, orm and genrm models")
    ap.add_argument("--task", default="last_letter")
    ap.add_argument("--data", help="data of a dataset task, e.g. ../shared/data/gsm8k with --task gsm8k")
    ap.add_argument("--size", default="tiny", help="built-in model size when no --run")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--n", type=int, default=1024, help="candidates for the direct and ORM passes")
    ap.add_argument("--n-cot", type=int, default=64, help="candidates for the K-rationale comparison")
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=96)
    ap.add_argument("--batch-size", type=int, default=256)
    args = ap.parse_args()
    dev = args.device
    torch.manual_seed(0)
    task = get_task(args.task, data=args.data)
    problems = task.load("test")[: args.n] if args.data else task.make_problems(args.n, [2, 3, 4], seed=1)
    items = [(task.prompt(p), task.reference_solution(p)) for p in problems]
    if args.run:
        run = Path(args.run)
        lm, tok = load_model(run / "models" / "genrm", device=dev)
        orm, _ = load_model(run / "models" / "orm", kind="orm", device=dev)
        cot_lm, cot_tok = load_model(run / "models" / "genrm_cot", device=dev)
    else:
        from transformers import LlamaForSequenceClassification

        lm, tok = build_tiny_model(args.size, seed=0)
        cfg = lm.config
        cfg.num_labels = 1
        orm = LlamaForSequenceClassification(cfg)
        lm, orm = lm.to(dev).eval(), orm.to(dev).eval()
        cot_lm, cot_tok = lm, tok
    engine = TransformersEngine(lm, tok, batch_size=args.batch_size)
    genrm = GenRMVerifier(engine)
    ormv = ORMVerifier(orm, tok, batch_size=args.batch_size)
    fmt = task.verify_format
    cot_engine = TransformersEngine(cot_lm, cot_tok, batch_size=args.batch_size)
    cot = dict(k=args.k, fmt=fmt, max_new_tokens=args.max_new_tokens, seed=0)
    figures: dict = {
        "device": torch.cuda.get_device_name(0) if dev.startswith("cuda") else f"cpu ({os.cpu_count()} cores)",
        "parameters": n_params(lm),
        "candidates": len(items),
        "k": args.k,
        "cot_candidates": min(args.n_cot, len(items)),
    }
    genrm.score(items[:8]), ormv.score(items[:8])  # warm-up
    peak = matmul_flops(dev)
    (_, t_orm, m_orm) = timed(dev, lambda: ormv.score(items))
    (_, t_gen, m_gen) = timed(dev, lambda: genrm.score(items))
    orm_tokens = sum(len(x) for x in engine.encode([p + s for p, s in items]))
    gen_tokens = sum(len(x) for x in engine.encode([fmt.direct_prompt(p, s) for p, s in items]))
    body = n_params(lm) - lm.get_input_embeddings().weight.numel()  # matmul weights the tokens go through
    vocab_head = lm.get_input_embeddings().weight.numel()  # the LM head, on one position per item
    gen_lens = [len(x) for x in engine.encode([fmt.direct_prompt(p, s) for p, s in items])]
    attn = 4 * lm.config.num_hidden_layers * lm.config.hidden_size * sum(t * t for t in gen_lens)  # QK^T and AV
    flops = 2 * body * gen_tokens + attn + 2 * vocab_head * len(items)
    cot_items = items[: figures["cot_candidates"]]
    (_, t_naive, m_naive) = timed(dev, lambda: CoTVerifier(cot_engine, shared_prefix=False, **cot).score(cot_items))
    (_, t_shared, m_shared) = timed(dev, lambda: CoTVerifier(cot_engine, **cot).score(cot_items))
    figures.update(
        orm_seconds=round(t_orm, 3),
        genrm_seconds=round(t_gen, 3),
        genrm_over_orm=round(t_gen / t_orm, 3),
        genrm_over_orm_per_token=round((t_gen / gen_tokens) / (t_orm / orm_tokens), 3),
        genrm_tokens_per_second=round(gen_tokens / t_gen),
        orm_tokens_per_second=round(orm_tokens / t_orm),
        genrm_flops_per_second=round(flops / t_gen),
        matmul_flops_per_second=round(peak),
        genrm_flops_over_matmul_peak=round(flops / t_gen / peak, 3),
        cot_naive_seconds=round(t_naive, 2),
        cot_shared_seconds=round(t_shared, 2),
        cot_shared_over_naive=round(t_shared / t_naive, 3),
        peak_mib={
            "orm": round(m_orm, 1),
            "genrm": round(m_gen, 1),
            "cot_naive": round(m_naive, 1),
            "cot_shared": round(m_shared, 1),
        },
    )
    print(f"device                         {figures['device']}, {figures['parameters']:,} parameters")
    print(f"ORM scoring                    {t_orm:.2f} s  ({figures['orm_tokens_per_second']:,} tokens/s)")
    print(f"GenRM direct scoring           {t_gen:.2f} s  ({figures['genrm_tokens_per_second']:,} tokens/s)")
    print(
        f"GenRM / ORM time               {figures['genrm_over_orm']}  (per token {figures['genrm_over_orm_per_token']};"
        " target <= 1.05)"
    )
    print(
        f"GenRM FLOP/s / matmul FLOP/s   {figures['genrm_flops_over_matmul_peak']}  "
        f"({figures['genrm_flops_per_second'] / 1e9:.1f} / {peak / 1e9:.1f} GFLOP/s)"
    )
    print(f"GenRM-CoT K={args.k} naive           {t_naive:.2f} s")
    print(
        f"GenRM-CoT K={args.k} shared prefix   {t_shared:.2f} s  (ratio {figures['cot_shared_over_naive']};"
        " target <= 0.5)"
    )
    print(f"peak memory (MiB)              {figures['peak_mib']}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
