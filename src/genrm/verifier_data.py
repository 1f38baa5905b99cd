"""Verifier training data from labelled candidates.

Rows use TRL's conventions: `prompt` + `completion` (SFT), plus `label` (unpaired preference).
- ORM rows: prompt = solve prompt, completion = candidate solution, label = correct?
- GenRM rows: prompt = ... solution + "Verification: Is the answer correct (Yes/No)?", completion " Yes"/" No"
- GenRM-CoT rows: prompt = ... solution + "Verification: Let's verify step by step.", completion =
  the task's oracle rationale ending in the decision line and " Yes"/" No"
- DPO rows (TRL's preference form): prompt = solve prompt, chosen = a correct candidate, rejected = an
  incorrect candidate of the same problem; each candidate of the balanced set is in exactly one pair
- unified training: solution-generation rows (correct solutions) mixed in at `lambda` per verification row.
"""

from __future__ import annotations

import random
from typing import Any, Sequence

from .errors import GenrmError
from .formats import VerifyFormat
from .types import Candidate, Problem, Task


def balanced_pairs(problems, candidates: dict[str, list[Candidate]], seed: int, within_problem: bool = True):
    """Unique (problem, candidate) pairs with as many correct as incorrect ones.

    `within_problem` (the default): per problem, as many correct as incorrect candidates (problems
    with one class only give none), so a verifier learns which candidate of a problem is right --
    all Best-of-N uses -- and not which problems are hard. Else the larger class is subsampled
    over all problems.
    """
    rng = random.Random(seed)
    pos, neg, pairs = [], [], []
    for p in problems:
        seen: set[str] = set()
        p_pos: list[tuple[Problem, Candidate]] = []
        p_neg: list[tuple[Problem, Candidate]] = []
        for c in candidates.get(p.id, []):
            if c.text in seen:
                continue
            seen.add(c.text)
            (p_pos if c.correct else p_neg).append((p, c))
        pos += p_pos
        neg += p_neg
        if within_problem:
            k = min(len(p_pos), len(p_neg))
            pairs += rng.sample(p_pos, k) + rng.sample(p_neg, k)
    if not pos or not neg or (within_problem and not pairs):
        raise GenrmError(
            f"verifier data needs correct and incorrect candidates{' of the same problem' if within_problem else ''} "
            f"(got {len(pos)} correct, {len(neg)} incorrect); train the generator longer or sample more candidates"
        )
    if not within_problem:
        k = min(len(pos), len(neg))
        pairs = rng.sample(pos, k) + rng.sample(neg, k)
    rng.shuffle(pairs)
    stats: dict[str, Any] = {
        "unique_correct": len(pos),
        "unique_incorrect": len(neg),
        "kept_per_class": len(pairs) // 2,
    }
    stats["balance"] = "within problem" if within_problem else "global"
    return pairs, stats


def preference_pairs(task: Task, pairs: Sequence[tuple[Problem, Candidate]], seed: int = 0) -> list[dict]:
    """DPO rows from the same balanced candidates: per problem, its correct and incorrect candidates paired in a
    seeded order (as many pairs as the smaller class; within-problem balance uses every candidate once)."""
    by_problem: dict[str, tuple[Problem, list[str], list[str]]] = {}
    for p, c in pairs:
        entry = by_problem.setdefault(p.id, (p, [], []))
        (entry[1] if c.correct else entry[2]).append(c.text)
    rng = random.Random(seed + 3)
    out = []
    for p, good, bad in by_problem.values():
        rng.shuffle(bad)
        sp = task.prompt(p)
        out += [{"prompt": sp, "chosen": g, "rejected": b} for g, b in zip(good, bad)]
    rng.shuffle(out)
    return out


def build_verifier_rows(
    task: Task,
    pairs: Sequence[tuple[Problem, Candidate]],
    fmt: VerifyFormat | None = None,
    unified_lambda: float = 0.0,
    seed: int = 0,
    rationales: dict[tuple[str, int], list[str]] | None = None,
) -> tuple[dict[str, list[dict]], dict]:
    """Rows for every verifier kind from balanced (problem, candidate) pairs, and counts.

    GenRM-CoT rationales come from `rationales` (teacher-written, by (problem id, candidate index);
    pairs without one get no CoT row) or else from the task's oracle.
    """
    fmt = fmt or VerifyFormat()
    rows: dict[str, list[dict]] = {"orm": [], "dpo": [], "genrm": [], "genrm_cot": []}
    oracle = task.has_oracle
    rows["dpo"] = preference_pairs(task, pairs, seed)
    for p, c in pairs:
        sp = task.prompt(p)
        rows["orm"].append({"prompt": sp, "completion": c.text, "label": bool(c.correct)})
        rows["genrm"].append(
            {
                "prompt": fmt.direct_prompt(sp, c.text),
                "completion": fmt.verdict(bool(c.correct)),
                "label": bool(c.correct),
            }
        )
        if rationales is not None:
            cots = rationales.get((p.id, c.index), [])
        else:
            cots = [task.oracle_rationale(p, c.text, fmt.decision)] if oracle else []
        for r in cots:
            rows["genrm_cot"].append({"prompt": fmt.cot_prompt(sp, c.text), "completion": r, "label": bool(c.correct)})
    stats: dict = {}
    if unified_lambda > 0:
        rng = random.Random(seed + 1)
        problems = list({p.id: p for p, _ in pairs}.values())
        correct = [(p, c.text) for p, c in pairs if c.correct] or [(p, task.reference_solution(p)) for p in problems]
        for kind in ("genrm", "genrm_cot"):
            n_gen = round(unified_lambda * len(rows[kind]))
            drawn = rng.choices(correct, k=n_gen)
            gen_rows = [{"prompt": task.prompt(p), "completion": t, "kind": "generate"} for p, t in drawn]
            rows[kind] = rows[kind] + gen_rows
            random.Random(seed + 2).shuffle(rows[kind])
            stats[f"unified_rows_{kind}"] = n_gen
    stats["verification_rows"] = len(pairs)
    stats["cot_rows"] = sum(1 for r in rows["genrm_cot"] if "label" in r)
    return rows, stats
