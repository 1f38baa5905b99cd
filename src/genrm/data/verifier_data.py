"""Verifier training data from labelled candidates.

Rows use TRL's conventions: `prompt` + `completion` (SFT), plus `label` (unpaired preference).
- ORM rows: prompt = solve prompt, completion = candidate solution, label = correct?
- GenRM rows: prompt = ... solution + "Verification: Is the answer correct (Yes/No)?", completion " Yes"/" No"
- GenRM-CoT rows: prompt = ... solution + "Verification: Let's verify step by step.", completion =
  the task's oracle rationale ending in the decision line and " Yes"/" No"
- DPO rows (TRL's preference form): prompt = solve prompt, chosen = a correct candidate, rejected = an
  incorrect candidate of the same problem; each candidate of the balanced set is in exactly one pair
- unified training: solution-generation rows mixed in at `lambda` per verification row: the reference solution
  of a problem where the task writes one step by step (the list tasks: a sampled "correct" candidate often
  has a miscopied word whose letter is right, which would teach the very error the rationale must catch),
  else the problem's correct candidates (dataset tasks, whose reference is not in the generator's format).

`rationale_coherence` counts, for any GenRM-CoT rows, whether each rationale's verdict follows from its
steps (written into `verifier_data/stats.json` by every run).
"""

from __future__ import annotations

import random
import re
from typing import Any, Sequence

from ..core.errors import GenrmError
from ..core.formats import VerifyFormat
from ..core.steps import parse_rationale
from ..core.types import Candidate, Problem, Task


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
        if task.has_oracle:  # step tasks: the reference solution, every step right (see the module)
            correct = [(p, task.reference_solution(p)) for p, c in pairs if c.correct]
        else:
            correct = [(p, c.text) for p, c in pairs if c.correct]
        correct = correct or [(p, task.reference_solution(p)) for p in problems]
        for kind in ("genrm", "genrm_cot"):
            n_gen = round(unified_lambda * len(rows[kind]))
            drawn = rng.choices(correct, k=n_gen)
            gen_rows = [{"prompt": task.prompt(p), "completion": t, "kind": "generate"} for p, t in drawn]
            rows[kind] = rows[kind] + gen_rows
            random.Random(seed + 2).shuffle(rows[kind])
            stats[f"unified_rows_{kind}"] = n_gen
        stats["unified_solutions"] = "reference" if task.has_oracle else "correct candidates"
    stats["verification_rows"] = len(pairs)
    stats["cot_rows"] = sum(1 for r in rows["genrm_cot"] if "label" in r)
    stats["cot_coherence"] = rationale_coherence(rows["genrm_cot"], fmt)
    return rows, stats


# a free-text rationale's negative judgement of a step (teacher-written, GSM8K-style), unless negated ("no error")
_NEGATIVE = re.compile(r"(?<!\bno )(?<!\bnot )\b(incorrect|wrong|mistakes?|errors?|not correct)\b", re.IGNORECASE)


def rationale_coherence(rows: Sequence[dict], fmt: VerifyFormat | None = None) -> dict[str, Any]:
    """Does each GenRM-CoT row's verdict follow from its steps? Counts over the rows with a label.

    A rationale in the step tasks' format (`genrm.analysis.steps`) has a negative step judgement when any step is
    marked `wrong`, `missing` or `extra`; a free-text one (a teacher's) when it says a step is incorrect,
    wrong, a mistake or an error (not "no error"). `yes_negative` / `yes_clean`, `no_negative` / `no_clean`:
    rows by label and by that judgement; `yes_negative_share`: the share of " Yes" rows holding a negative
    judgement (0 for coherent data); `marks_match_label`: of the step-format rationales that parse and are
    complete, the share whose verdict computed from the marks equals the row's label (1 for coherent data)."""
    fmt = fmt or VerifyFormat()
    out = {"yes_negative": 0, "yes_clean": 0, "no_negative": 0, "no_clean": 0, "step_format": 0, "free_text": 0}
    match = judged = 0
    for r in rows:
        if "label" not in r:
            continue
        body = str(r["completion"]).split(fmt.decision)[0]
        marks = parse_rationale(body)
        if marks is not None:
            out["step_format"] += 1
            negative = any(marks.wrong)
            if marks.verdict is not None:
                judged += 1
                match += marks.verdict == bool(r["label"])
        else:
            out["free_text"] += 1
            negative = _NEGATIVE.search(body) is not None
        out[f"{'yes' if r['label'] else 'no'}_{'negative' if negative else 'clean'}"] += 1
    n_yes = out["yes_negative"] + out["yes_clean"]
    return {
        **out,
        "yes_negative_share": out["yes_negative"] / n_yes if n_yes else None,
        "marks_match_label": match / judged if judged else None,
    }
