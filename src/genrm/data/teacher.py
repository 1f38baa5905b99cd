"""Teacher rationales for GenRM-CoT training, by reference-guided grading (the GenRM paper, GSM8K).

A teacher model (any engine: Transformers, vLLM, an OpenAI-compatible server) grades each
labelled candidate with the reference solution in view, K times. A candidate's rationales are
kept only where more than half of the K verdicts agree with its label, and then only the
agreeing ones; each kept rationale becomes one GenRM-CoT row ending in the paper's decision line.
The trained verifier never sees the reference. Raw teacher outputs are appended to a JSONL file
as they come, so an interrupted run resumes without asking the teacher twice.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

from ..core.formats import VerifyFormat
from ..core.io import resume_jsonl
from ..core.types import Candidate, Problem

_MARKUP = re.compile(r"\*\*|</?b>|__")
_VERDICT = re.compile(r"Is the answer correct\s*\??\s*\(Yes/No\)\s*\??\s*:?\s*(Yes|No)\b", re.IGNORECASE)
_TRAILING_LABEL = re.compile(r"((Final )?(Grade|Verification)\s*:?\s*)+$", re.IGNORECASE)


def parse_verdict(output: str) -> tuple[str, bool] | None:
    """(rationale before the final decision, verdict) of a teacher output; None if it has no verdict.

    Teachers format the decision line loosely (`**Verification:** Is the answer correct? (Yes/No) No`,
    HTML bold, a line break after `Verification:`); markup is dropped and the last decision wins.
    """
    clean = _MARKUP.sub("", output)
    found = list(_VERDICT.finditer(clean))
    if not found:
        return None
    m = found[-1]
    body = _TRAILING_LABEL.sub("", clean[: m.start()].rstrip()).rstrip()
    return body, m.group(1).lower() == "yes"


def to_training_rationale(body: str, verdict: bool, fmt: VerifyFormat) -> str:
    """A GenRM-CoT completion: the rationale, then the decision line with its verdict."""
    return f"{body.strip()}\n\n{fmt.decision}{fmt.verdict(verdict)}"


def teacher_rationales(
    engine,
    task,
    pairs: Sequence[tuple[Problem, Candidate]],
    raw_path: str | Path,
    k: int = 4,
    temperature: float = 0.7,
    max_new_tokens: int = 1024,
    seed: int = 0,
    fmt: VerifyFormat | None = None,
    chunk: int = 32,
) -> tuple[dict[tuple[str, int], list[str]], dict]:
    """Kept training rationales by (problem id, candidate index), and counts of what was kept."""
    fmt = fmt or VerifyFormat()

    def work(start: int, part: list[tuple[Problem, Candidate]]) -> list[dict]:
        outs = engine.generate(
            [task.teacher_prompt(p, c.text) for p, c in part],
            n=k,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            seed=seed * 1_000_003 + start,
        )
        return [
            {"problem_id": p.id, "index": c.index, "label": bool(c.correct), "outputs": texts}
            for (p, c), texts in zip(part, outs)
        ]

    rows, _ = resume_jsonl(
        raw_path,
        pairs,
        lambda pc: (pc[0].id, pc[1].index),
        lambda r: (r["problem_id"], r["index"]),
        work,
        chunk=chunk,
        description="teacher rationales",
        required=("problem_id", "index", "outputs"),
    )
    raw = {key: r["outputs"] for key, r in rows.items()}
    kept: dict[tuple[str, int], list[str]] = {}
    stats = {"candidates": len(pairs), "rationales": 0, "no_verdict": 0, "agree": 0}
    for p, c in pairs:
        parsed = [parse_verdict(t) for t in raw[(p.id, c.index)]]
        stats["rationales"] += len(parsed)
        stats["no_verdict"] += sum(x is None for x in parsed)
        agree = [(b, v) for b, v in (x for x in parsed if x) if v == bool(c.correct) and b.strip()]
        stats["agree"] += len(agree)
        if len(agree) * 2 > len(parsed):
            kept[(p.id, c.index)] = [to_training_rationale(b, v, fmt) for b, v in agree]
    stats["candidates_kept"] = len(kept)
    stats["candidates_dropped"] = len(pairs) - len(kept)
    stats["rationales_kept"] = sum(len(v) for v in kept.values())
    stats["kept_correct"] = sum(1 for p, c in pairs if c.correct and (p.id, c.index) in kept)
    stats["kept_incorrect"] = stats["candidates_kept"] - stats["kept_correct"]
    return kept, stats
