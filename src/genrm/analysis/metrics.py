"""Selection metrics: pass@n, Best-of-n, (weighted) self-consistency, AUROC, bootstrap CIs.

Each `*_at_n` gives, for one problem with N candidates, the expected accuracy when a random
subset of n of them is drawn (an unbiased estimate over subsets, as pass@k in Chen et al. 2021).
"""

from __future__ import annotations

import itertools
import math
import random
from collections import defaultdict
from math import comb
from typing import Sequence


def pass_at_n(correct: Sequence[bool], n: int) -> float:
    """P(at least one correct among n drawn without replacement)."""
    N, c = len(correct), sum(map(bool, correct))
    if n > N:
        raise ValueError(f"n={n} exceeds the {N} candidates")
    return 1.0 - comb(N - c, n) / comb(N, n)


def best_of_n(scores: Sequence[float], correct: Sequence[bool], n: int) -> float:
    """Expected correctness of the top-scored candidate of a random n-subset (ties: uniform)."""
    N = len(scores)
    if n > N:
        raise ValueError(f"n={n} exceeds the {N} candidates")
    groups: dict[float, list[bool]] = defaultdict(list)
    for s, c in zip(scores, correct):
        groups[s].append(bool(c))
    total, above = 0.0, 0
    for s in sorted(groups, reverse=True):
        g = groups[s]
        # P(the subset's max falls in this tie group) = P(no higher one) - P(none from here down)
        p = (comb(N - above, n) - comb(N - above - len(g), n)) / comb(N, n)
        total += p * sum(g) / len(g)
        above += len(g)
    return total


def _vote(answers: Sequence[str | None], correct: Sequence[bool], weights: Sequence[float]) -> float:
    """Expected correctness of the answer with the largest total weight (ties broken at random)."""
    tally: dict[str, float] = defaultdict(float)
    right: dict[str, bool] = {}
    for a, c, w in zip(answers, correct, weights):
        if a is None:
            continue
        tally[a] += w
        right[a] = right.get(a, False) or bool(c)
    if not tally:
        return 0.0
    top = max(tally.values())
    # ties up to rounding, relative to the scale: a verifier's scores may all be tiny (a DPO policy's pi(y|x))
    winners = [a for a, v in tally.items() if v >= top - 1e-9 * abs(top)]
    return sum(right[a] for a in winners) / len(winners)


def vote_at_n(
    answers: Sequence[str | None],
    correct: Sequence[bool],
    n: int,
    weights: Sequence[float] | None = None,
    samples: int = 200,
    seed: int = 0,
    exact_max: int = 2000,
) -> float:
    """Self-consistency (weights None) or weighted self-consistency over random n-subsets.

    Exact (every subset) when there are at most `exact_max` subsets; otherwise the mean over
    `samples` random subsets (unbiased).
    """
    N = len(answers)
    if n > N:
        raise ValueError(f"n={n} exceeds the {N} candidates")
    w = list(weights) if weights is not None else [1.0] * N
    idx = list(range(N))
    if comb(N, n) <= exact_max:
        subsets = list(itertools.combinations(idx, n))
        return sum(_vote([answers[i] for i in s], [correct[i] for i in s], [w[i] for i in s]) for s in subsets) / len(
            subsets
        )
    rng = random.Random(seed)
    acc = 0.0
    for _ in range(samples):
        sub = rng.sample(idx, n)
        acc += _vote([answers[i] for i in sub], [correct[i] for i in sub], [w[i] for i in sub])
    return acc / samples


def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Area under the ROC curve (Mann-Whitney U with tie correction); None if one class is absent."""
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    if not pos or not neg:
        return None
    ranked = sorted((s, i) for i, s in enumerate(scores))
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1][0] == ranked[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[ranked[k][1]] = (i + j) / 2 + 1
        i = j + 1
    r_pos = sum(r for r, y in zip(ranks, labels) if y)
    return (r_pos - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def percentile_ci(draws: Sequence[float], alpha: float = 0.05) -> list[float] | None:
    """The percentile interval of bootstrap draws (NaN draws left out); None without any."""
    kept = sorted(x for x in draws if x == x)
    if not kept:
        return None
    return [kept[int(alpha / 2 * len(kept))], kept[min(len(kept) - 1, int((1 - alpha / 2) * len(kept)))]]


def bootstrap_ci(values: Sequence[float], reps: int = 1000, alpha: float = 0.05, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of per-problem values."""
    if not values:
        return (float("nan"), float("nan"))
    rng = random.Random(seed)
    n = len(values)
    lo, hi = percentile_ci([sum(rng.choices(values, k=n)) / n for _ in range(reps)], alpha) or (math.nan, math.nan)
    return lo, hi


def n_grid(n_max: int) -> list[int]:
    """1, 2, 4, ... up to n_max (n_max included)."""
    grid, n = [], 1
    while n < n_max:
        grid.append(n)
        n *= 2
    return grid + [n_max]
