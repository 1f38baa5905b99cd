"""The master-key audit (`genrm bench master-keys`): does a verifier score non-solutions above real wrong ones?

For every test problem of a run with at least one real wrong candidate, each degenerate candidate of `KINDS` is
scored next to the run's real wrong candidates of that problem, with the run's verifier in its own prompt
format. Per kind: the share of problems where the degenerate candidate outscores *every* real wrong one, and
the mean gap (its score minus the best real wrong one's). The same with `degenerate="floor"` (what `genrm serve
--degenerate floor` does) shows what the guard removes; a bare answer line is a terse solution, not floored.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..core.types import Candidate, Problem
from ..serving.degenerate import is_degenerate

KINDS = ("empty", "colon", "opener", "question", "answer_only", "repetition")


def degenerate_candidates(task: Any, problem: Problem, wrong: Sequence[Candidate]) -> dict[str, str]:
    """The degenerate candidates of one problem; `answer_only` is a bare answer line with a real wrong answer."""
    wrong_answer = next((c.answer for c in wrong if c.answer), None) or f"{problem.answer}0"
    line = f" Answer: {wrong_answer}" if hasattr(task, "answer_for") else f"The answer is {wrong_answer}."
    return {
        "empty": "",
        "colon": ":",
        "opener": "Let's solve this problem step by step.",
        "question": problem.question,
        "answer_only": line,
        "repetition": " ".join([wrong[0].text.strip() or "step"] * 12),
    }


def audit(
    reward_model: Any, task: Any, problems: Sequence[Problem], candidates: dict[str, list[Candidate]]
) -> dict[str, Any]:
    """Scores and the two statistics per kind, as the verifier reads everything and with the floor."""
    items, where = [], []
    for p in problems:
        wrong = [c for c in candidates.get(p.id, []) if c.correct is False]
        if not wrong:
            continue
        for kind, text in degenerate_candidates(task, p, wrong).items():
            items.append((p.question, text))
            where.append((p.id, kind))
        for c in wrong:
            items.append((p.question, c.text))
            where.append((p.id, "real"))
    scores = [r.score for r in reward_model.score(items)]
    by_problem: dict[str, dict[str, list[float]]] = {}
    for (pid, kind), s in zip(where, scores):
        by_problem.setdefault(pid, {}).setdefault(kind, []).append(s)
    floored = {(pid, kind): is_degenerate(q, t) for (pid, kind), (q, t) in zip(where, items) if kind != "real"}
    out: dict[str, Any] = {"problems": len(by_problem), "kinds": {}}
    for kind in KINDS:
        for guard in (False, True):
            wins, gaps = 0, []
            for pid, rows in by_problem.items():
                s = 0.0 if guard and floored[(pid, kind)] else rows[kind][0]
                best = max(rows["real"])
                wins += s > best
                gaps.append(s - best)
            key = f"{kind} (floored)" if guard else kind
            out["kinds"][key] = {
                "share_above_every_wrong": wins / len(by_problem) if by_problem else None,
                "mean_gap": sum(gaps) / len(gaps) if gaps else None,
                "detected_degenerate": sum(floored[(pid, kind)] for pid in by_problem) / max(1, len(by_problem)),
            }
    return out
