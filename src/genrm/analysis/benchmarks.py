"""The metrics of public verifier benchmarks, as their authors define them.

- **ProcessBench** (Zheng et al., 2024; `run_eval.py`): on solutions with an error, the accuracy of the
  predicted index of the first wrong step; on solutions without one, the accuracy of predicting -1; F1 is
  their harmonic mean, in percent. A prediction of None (nothing parsed) counts as wrong on both. When both
  accuracies are 0 the authors' code divides 0 by 0 (NaN); genrm reports 0.
- **BIG-Bench Mistake** (Tyen et al., 2023): mistake location accuracy, the share of traces with a mistake
  whose predicted first mistake step is the annotated one; and the AUROC of a "has a mistake" score.
- **Best-of-N files** (QwenLM/Qwen2.5-Math `rm_maj_eval.py`): rm@k takes the *first* k responses of each
  problem and the one with the highest reward (the first on ties); maj@k the most common extracted answer
  among the first k (the first to reach the top count on ties). genrm's own Best-of-N and self-consistency
  (`genrm.analysis.metrics`) are expectations over every k-subset of the N responses, with ties split evenly:
  less noisy for a file with one fixed order, and equal to the authors' numbers at k = N when there are no
  ties. Both are reported.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from typing import Any, Mapping, Sequence

from .metrics import auroc, best_of_n, bootstrap_ci, n_grid, pass_at_n, percentile_ci, vote_at_n
from .steps import processbench


def processbench_f1(labels: Sequence[int], predicted: Sequence[int | None]) -> dict[str, Any]:
    """ProcessBench's numbers for one subset: `genrm.analysis.steps.processbench` in percent, as `run_eval.py`
    prints them."""
    r = processbench(labels, predicted)

    def pct(x: float | None) -> float | None:
        return None if x is None else 100 * x

    return {
        "error_acc": pct(r["error_accuracy"]),
        "correct_acc": pct(r["correct_accuracy"]),
        "f1": pct(r["f1"]),
        "n_error": r["n_error"],
        "n_correct": r["n_correct"],
    }


def processbench_summary(
    subsets: dict[str, tuple[Sequence[int], Sequence[int | None]]], reps: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Per subset: `processbench_f1` plus a percentile bootstrap 95% CI of F1 over its solutions; the average
    F1 over subsets (as the ProcessBench paper's "Avg. F1") with a CI from resampling every subset at once."""
    rng = random.Random(seed)
    out: dict[str, Any] = {"subsets": {}}
    draws: dict[str, list[float]] = {}
    for name, (labels, preds) in subsets.items():
        row = processbench_f1(labels, preds)
        pairs = list(zip(labels, preds))
        f1s = []
        for _ in range(reps):
            sample = rng.choices(pairs, k=len(pairs))
            f1s.append(processbench_f1([y for y, _ in sample], [p for _, p in sample])["f1"])
        draws[name] = [x if x is not None else float("nan") for x in f1s]
        kept = sorted(x for x in draws[name] if x == x)
        row["ci95_f1"] = (
            [kept[int(0.025 * len(kept))], kept[min(len(kept) - 1, int(0.975 * len(kept)))]] if kept else None
        )
        out["subsets"][name] = row
    f1s = [r["f1"] for r in out["subsets"].values()]
    if f1s and all(f is not None for f in f1s):
        out["avg_f1"] = sum(f1s) / len(f1s)
        avg = sorted(sum(d[i] for d in draws.values()) / len(draws) for i in range(reps))
        avg = [a for a in avg if a == a]
        out["ci95_avg_f1"] = (
            [avg[int(0.025 * len(avg))], avg[min(len(avg) - 1, int(0.975 * len(avg)))]] if avg else None
        )
    return out


def mistake_location(labels: Sequence[int | None], predicted: Sequence[int | None]) -> dict[str, Any]:
    """BIG-Bench Mistake: location accuracy on traces with a mistake (label an index; None: no mistake), and
    how often a trace without one is predicted to have none."""
    located = [p == y for y, p in zip(labels, predicted) if y is not None]
    clean = [p is None for y, p in zip(labels, predicted) if y is None]
    return {
        "location_acc": sum(located) / len(located) if located else None,
        "no_mistake_acc": sum(clean) / len(clean) if clean else None,
        "n_mistake": len(located),
        "n_clean": len(clean),
    }


def mistake_auroc(has_mistake: Sequence[bool], mistake_scores: Sequence[float]) -> dict[str, Any]:
    """AUROC of a score that should be higher on traces with a mistake, with a bootstrap 95% CI."""
    value = auroc(list(mistake_scores), list(has_mistake))
    rng = random.Random(0)
    idx = list(range(len(has_mistake)))
    draws = []
    for _ in range(1000):
        s = rng.choices(idx, k=len(idx))
        a = auroc([mistake_scores[i] for i in s], [has_mistake[i] for i in s])
        if a is not None:
            draws.append(a)
    return {"auroc": value, "ci95": percentile_ci(draws)}


def rm_at_k(rewards: Sequence[Sequence[float]], correct: Sequence[Sequence[bool]], k: int) -> float:
    """The authors' rm@k in percent: per problem, the first k responses' highest reward (first on ties)."""
    right = 0
    for rs, cs in zip(rewards, correct):
        first = list(rs[:k])
        right += bool(cs[first.index(max(first))])
    return 100 * right / len(rewards)


def maj_at_k(answers: Sequence[Sequence[str]], correct: Sequence[Sequence[bool]], k: int) -> float:
    """The authors' maj@k in percent: per problem, the most common of the first k answers (the first to reach
    the top count on ties), scored by the first response that gave it."""
    right = 0
    for ans, cs in zip(answers, correct):
        first = list(ans[:k])
        top = Counter(first).most_common(1)[0][0]
        right += bool(cs[first.index(top)])
    return 100 * right / len(answers)


def _unit(scores: Sequence[Sequence[float]]) -> list[list[float]]:
    flat = [x for row in scores for x in row]
    if all(0.0 <= x <= 1.0 for x in flat):
        return [list(row) for row in scores]
    return [[1 / (1 + math.exp(-x)) for x in row] for row in scores]


def bon_table(
    correct: Sequence[Sequence[bool]],
    answers: Sequence[Sequence[str | None]],
    scores: Mapping[str, Sequence[Sequence[float]]],
    seed: int = 0,
) -> dict[str, Any]:
    """Best-of-N, weighted self-consistency (per score source), self-consistency and pass@N at every N of the
    grid, as genrm computes them (expected over N-subsets, bootstrap 95% CI over problems at the largest N),
    and the authors' rm@k / maj@k (first k responses)."""
    n_max = min(len(c) for c in correct)
    grid = n_grid(n_max)
    rows: dict[str, dict[str, Any]] = {}

    def add(name: str, per_problem) -> None:
        at = {n: [per_problem(i, n) for i in range(len(correct))] for n in grid}
        rows[name] = {
            "at_n": {str(n): sum(v) / len(v) for n, v in at.items()},
            "ci95_at_N": list(bootstrap_ci(at[n_max], seed=seed)),
        }

    # weighted SC sums the scores of the responses that share an answer: scores outside [0, 1] (a reward model's
    # raw logits) are squashed by a sigmoid first, so that no weight is negative
    weights = {src: _unit(sc) for src, sc in scores.items()}
    add("pass@1", lambda i, n: pass_at_n(correct[i][:n_max], 1))
    add("self-consistency", lambda i, n: vote_at_n(answers[i][:n_max], correct[i][:n_max], n))
    for src, sc in scores.items():
        add(f"Best-of-N ({src})", lambda i, n, sc=sc: best_of_n(sc[i][:n_max], correct[i][:n_max], n))
        add(
            f"weighted SC ({src})",
            lambda i, n, w=weights[src]: vote_at_n(answers[i][:n_max], correct[i][:n_max], n, weights=w[i][:n_max]),
        )
    add("pass@N (oracle)", lambda i, n: pass_at_n(correct[i][:n_max], n))
    authors = {f"maj@{k}": maj_at_k([[str(a) for a in x] for x in answers], correct, k) for k in grid}
    for src, sc in scores.items():
        authors.update({f"rm@{k} ({src})": rm_at_k(sc, correct, k) for k in grid})
    return {"N": n_max, "grid": grid, "methods": rows, "authors": authors}
