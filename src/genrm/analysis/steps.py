"""Step-level verdicts scored as ProcessBench scores them: accuracy of the first-error index on erroneous
candidates, of "no error" on error-free ones, and their harmonic mean (F1), with a bootstrap interval over
problems. The rationale grammar and its parser are `genrm.core.steps` (re-exported here)."""

from __future__ import annotations

from typing import Any, Sequence

from ..core.steps import MARKS, NO_ERROR, StepMarks, StepVerdicts, first_error_label, parse_rationale
from .metrics import percentile_ci

__all__ = [
    "MARKS",
    "NO_ERROR",
    "StepMarks",
    "StepVerdicts",
    "first_error_label",
    "parse_rationale",
    "processbench",
    "step_evaluation",
]


def processbench(labels: Sequence[int], predicted: Sequence[int | None]) -> dict[str, Any]:
    """ProcessBench's metric: `error_accuracy` (the exact first wrong step, on candidates with one),
    `correct_accuracy` ("no error" on candidates without one), `f1` their harmonic mean. A prediction of None
    (nothing parsed, or no vote) is wrong on both."""
    err = [p == y for y, p in zip(labels, predicted) if y != NO_ERROR]
    ok = [p == NO_ERROR for y, p in zip(labels, predicted) if y == NO_ERROR]
    acc_err = sum(err) / len(err) if err else None
    acc_ok = sum(ok) / len(ok) if ok else None
    f1 = None
    if acc_err is not None and acc_ok is not None:
        f1 = 0.0 if acc_err + acc_ok == 0 else 2 * acc_err * acc_ok / (acc_err + acc_ok)
    return {"error_accuracy": acc_err, "correct_accuracy": acc_ok, "f1": f1, "n_error": len(err), "n_correct": len(ok)}


def step_evaluation(
    problem_ids: Sequence[str],
    labels: dict[str, list[int | None]],
    rationales: dict[str, list[list[str]]],
    reps: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """ProcessBench on a run's candidates: `labels[pid]` the oracle's first wrong step per candidate (None: no
    label, left out), `rationales[pid]` each candidate's K rationales. Adds a percentile bootstrap 95% CI of F1
    over problems, the share of candidates whose rationales gave steps (`parsed`), and the predicted first
    wrong step per candidate (`predicted`, for the report)."""
    import random

    pairs: dict[str, list[tuple[int, int | None]]] = {}
    predicted: dict[str, list[int | None]] = {}
    parsed = total = 0
    for pid in problem_ids:
        verdicts = [StepVerdicts.from_rationales(rs) for rs in rationales[pid]]
        predicted[pid] = [v.first_error if v else None for v in verdicts]
        parsed += sum(v is not None for v in verdicts)
        total += len(verdicts)
        pairs[pid] = [(y, p) for y, p in zip(labels[pid], predicted[pid]) if y is not None]
    flat = [x for pid in problem_ids for x in pairs[pid]]
    out = processbench([y for y, _ in flat], [p for _, p in flat])
    rng = random.Random(seed)
    f1s = []
    for _ in range(reps):
        sample = [x for pid in rng.choices(list(problem_ids), k=len(problem_ids)) for x in pairs[pid]]
        f1 = processbench([y for y, _ in sample], [p for _, p in sample])["f1"]
        if f1 is not None:
            f1s.append(f1)
    return {**out, "ci95_f1": percentile_ci(f1s), "parsed": parsed / total if total else None, "predicted": predicted}
