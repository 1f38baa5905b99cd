"""Evaluation of a run: Best-of-N vs N for every method, Best-of-N vs K for GenRM-CoT,
verifier accuracy and AUROC, bootstrap CIs. Writes results.json (machine-readable)."""

from __future__ import annotations

from typing import Any, Sequence

from ..core.types import Candidate, Problem
from .metrics import auroc, best_of_n, bootstrap_ci, n_grid, pass_at_n, vote_at_n
from .steps import StepVerdicts, step_evaluation

VERIFIER_NAMES = {"orm": "ORM", "dpo": "DPO", "genrm": "GenRM", "genrm_cot": "GenRM-CoT", "judge": "LLM-as-a-Judge"}


def _per_problem(fn, problems, n) -> list[float]:
    return [fn(p, n) for p in problems]


def evaluate(
    problems: Sequence[Problem],
    candidates: dict[str, list[Candidate]],
    scores: dict[str, dict[str, list[dict]]],
    seed: int = 0,
    base_correct: Sequence[bool] | None = None,
    first_errors: dict[str, list[int | None]] | None = None,
) -> dict:
    """`scores[method][problem_id]` is a list of `{"score", "votes", "rationales"}` aligned with the candidates.

    `base_correct` (per problem: did the verifiers' base model, greedy, solve it alone?) becomes a constant row.
    `first_errors` (per problem, per candidate: the oracle's first wrong step, -1 for none; step tasks) adds, for
    each method whose rationales carry step marks, ProcessBench's metric under `steps` and a step-level
    Best-of-N row "(min step)" that ranks candidates by their lowest step score, as PRMs do.
    """
    N = min(len(candidates[p.id]) for p in problems)
    grid = n_grid(N)
    at_n: dict[str, list[float]] = {}  # per problem, at N: the paired comparisons
    corr = {p.id: [bool(c.correct) for c in candidates[p.id][:N]] for p in problems}
    ans = {p.id: [c.answer for c in candidates[p.id][:N]] for p in problems}
    methods: dict[str, dict] = {}

    def add(name, per_n, extra=None):
        values = {n: per_n(n) for n in grid}  # per problem, at each N
        at_n[name] = values[N]
        cis = {str(n): list(bootstrap_ci(v, seed=seed)) for n, v in values.items()}
        methods[name] = {
            "best_of_n": {str(n): _mean(v) for n, v in values.items()},
            "ci95_at_N": cis[str(N)],
            "ci95": cis,  # at every N of the grid: the bands of the report's curves
            **(extra or {}),
        }

    add("pass@1", lambda n: [sum(corr[p.id]) / N for p in problems])
    if base_correct is not None:  # not a selection method: what the verifiers' base solves alone, greedy
        add("base model alone (greedy)", lambda n: [float(x) for x in base_correct])
    add("self-consistency", lambda n: [vote_at_n(ans[p.id], corr[p.id], n, seed=seed) for p in problems])
    for m, sc in scores.items():
        s = {p.id: [r["score"] for r in sc[p.id][:N]] for p in problems}
        flat_s = [x for p in problems for x in s[p.id]]
        flat_y = [y for p in problems for y in corr[p.id]]
        within = [auroc(s[p.id], corr[p.id]) for p in problems]
        extra: dict[str, Any] = {
            "verifier_accuracy": _mean([(x >= 0.5) == y for x, y in zip(flat_s, flat_y)]),
            "auroc": auroc(flat_s, flat_y),
            # what Best-of-N needs: ranking *within* a problem (mean over problems with both classes)
            "auroc_within_problem": _mean([a for a in within if a is not None]),
        }
        votes = {p.id: [r.get("votes") or [] for r in sc[p.id][:N]] for p in problems}
        K = min((len(v) for p in problems for v in votes[p.id]), default=0)
        if K > 1:  # Best-of-N at N as more rationales are averaged
            extra["best_of_N_vs_k"] = {
                str(k): _mean([best_of_n([sum(v[:k]) / k for v in votes[p.id]], corr[p.id], N) for p in problems])
                for k in n_grid(K)
            }
        name = VERIFIER_NAMES.get(m, m)
        add(name, lambda n, s=s: [best_of_n(s[p.id], corr[p.id], n) for p in problems], extra)
        add(
            f"weighted SC ({name})",
            lambda n, s=s: [vote_at_n(ans[p.id], corr[p.id], n, s[p.id], seed=seed) for p in problems],
        )
        rationales = {p.id: [r.get("rationales") or [] for r in sc[p.id][:N]] for p in problems}
        if first_errors is not None and any(rs for p in problems for rs in rationales[p.id]):
            steps = step_evaluation(
                [p.id for p in problems], {p.id: first_errors[p.id][:N] for p in problems}, rationales, seed=seed
            )
            if steps["parsed"]:
                methods[name]["steps"] = {k: v for k, v in steps.items() if k != "predicted"}
                methods[name]["steps"]["predicted"] = steps["predicted"]
                step_min = {
                    p.id: [v.step_min if v else 0.0 for v in map(StepVerdicts.from_rationales, rationales[p.id])]
                    for p in problems
                }
                add(
                    f"{name} (min step)",
                    lambda n, s=step_min: [best_of_n(s[p.id], corr[p.id], n) for p in problems],
                    {"ranks_by": "lowest step score (1 - share of rationales marking the step wrong); no steps: 0"},
                )
    add("pass@N (oracle)", lambda n: [pass_at_n(corr[p.id], n) for p in problems])
    verifiers = [VERIFIER_NAMES.get(m, m) for m in scores]
    out = {"N": N, "n_grid": grid, "problems": len(problems), "methods": methods}
    out["paired"] = paired_differences(at_n, verifiers, seed=seed)
    if first_errors is not None:
        out["first_errors"] = {p.id: first_errors[p.id][:N] for p in problems}  # the oracle's labels
    return out


def paired_differences(at_n: dict[str, list[float]], verifiers: Sequence[str], seed: int = 0) -> dict[str, dict]:
    """Best-of-N differences between methods scored on the same problems and candidates, each with a paired
    bootstrap 95% CI (problems resampled together for both methods): every verifier against self-consistency
    and pass@1, and every two verifiers. `wins` / `losses`: problems where the first is better / worse."""
    pairs = [(v, b) for v in verifiers for b in ("self-consistency", "pass@1")]
    pairs += [(a, b) for i, a in enumerate(verifiers) for b in verifiers[i + 1 :]]
    out = {}
    for a, b in pairs:
        if a not in at_n or b not in at_n:
            continue
        d = [x - y for x, y in zip(at_n[a], at_n[b])]
        lo, hi = bootstrap_ci(d, seed=seed)
        out[f"{a} - {b}"] = {
            "difference": _mean(d),
            "ci95": [lo, hi],
            "wins": sum(x > 1e-12 for x in d),
            "losses": sum(x < -1e-12 for x in d),
        }
    return out


def _mean(xs) -> float:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else float("nan")
