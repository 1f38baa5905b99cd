"""Verifier training data from labelled candidates.

Rows use TRL's conventions: `prompt` + `completion` (SFT), plus `label` (unpaired preference).
- ORM rows: prompt = solve prompt, completion = candidate solution, label = correct?
- GenRM rows: prompt = ... solution + "Verification: Is the answer correct (Yes/No)?", completion " Yes"/" No"
- GenRM-CoT rows: prompt = ... solution + "Verification: Let's verify step by step.", completion =
  the task's oracle rationale ending in the decision line and " Yes"/" No"
- unified training: solution-generation rows (correct solutions) mixed in at `lambda` per verification row.
"""

from __future__ import annotations

import random
from typing import Sequence

from .errors import GenrmError
from .formats import VerifyFormat
from .types import Candidate, Problem, Task


def balanced_pairs(problems, candidates: dict[str, list[Candidate]], seed: int):
    """Unique (problem, candidate) pairs, the larger class subsampled to the size of the smaller."""
    pos, neg = [], []
    for p in problems:
        seen = set()
        for c in candidates.get(p.id, []):
            if c.text in seen:
                continue
            seen.add(c.text)
            (pos if c.correct else neg).append((p, c))
    if not pos or not neg:
        raise GenrmError(
            f"verifier data needs both correct and incorrect candidates (got {len(pos)} correct, {len(neg)} "
            "incorrect); train the generator longer or sample more candidates"
        )
    rng = random.Random(seed)
    k = min(len(pos), len(neg))
    pairs = rng.sample(pos, k) + rng.sample(neg, k)
    rng.shuffle(pairs)
    return pairs, {"unique_correct": len(pos), "unique_incorrect": len(neg), "kept_per_class": k}


def build_verifier_rows(
    task: Task,
    problems: Sequence[Problem],
    candidates: dict[str, list[Candidate]],
    fmt: VerifyFormat | None = None,
    unified_lambda: float = 0.0,
    seed: int = 0,
) -> tuple[dict[str, list[dict]], dict]:
    """Rows for every verifier kind, and counts describing them."""
    fmt = fmt or VerifyFormat()
    pairs, stats = balanced_pairs(problems, candidates, seed)
    rows: dict[str, list[dict]] = {"orm": [], "genrm": [], "genrm_cot": []}
    for p, c in pairs:
        sp = task.prompt(p)
        rows["orm"].append({"prompt": sp, "completion": c.text, "label": bool(c.correct)})
        rows["genrm"].append(
            {"prompt": fmt.direct_prompt(sp, c.text), "completion": fmt.verdict(c.correct), "label": bool(c.correct)}
        )
        rationale = task.oracle_rationale(p, c.text, fmt.decision)
        rows["genrm_cot"].append(
            {"prompt": fmt.cot_prompt(sp, c.text), "completion": rationale, "label": bool(c.correct)}
        )
    if unified_lambda > 0:
        rng = random.Random(seed + 1)
        correct = [(p, c.text) for p, c in pairs if c.correct] or [(p, task.reference_solution(p)) for p in problems]
        n_gen = round(unified_lambda * len(pairs))
        gen_rows = [
            {"prompt": task.prompt(p), "completion": t, "kind": "generate"} for p, t in rng.choices(correct, k=n_gen)
        ]
        for kind in ("genrm", "genrm_cot"):
            rows[kind] = rows[kind] + gen_rows
            random.Random(seed + 2).shuffle(rows[kind])
        stats["unified_rows"] = n_gen
    stats["verification_rows"] = len(pairs)
    return rows, stats
