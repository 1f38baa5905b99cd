"""Step-level verdicts read from generative verifiers' rationales: a process reward model (PRM) for free.

A GenRM-CoT rationale of the step tasks (last-letter, word sorting) re-derives each step from the question
and checks the candidate's final answer against it, one piece (a letter, a word) per step, in one line:

    " tag -> g/g ok, boj -> j/x wrong (boj -> x), lob -> b missing."

Each comma-separated part is one step, marked `ok`, `wrong`, `missing` (the answer lacks the step's piece)
or `extra` (the answer has a piece too many), optionally followed by the candidate's own step in
parentheses where it differs from the true one; the closing "." says the rationale is complete. **A step is
wrong exactly when the oracle would mark it so**: the answer's piece at that position differs from the
re-derived one, or is missing or extra. A miscopied word whose letter (so whose piece of the answer) is
right is not a wrong step, since the paper's label is the final answer; every step is `ok` exactly when
the answer is correct. `parse_rationale` reads one rationale;
`StepVerdicts.from_rationales` combines the K rationales of a candidate: per step, the share of the rationales
that reach it and mark it wrong; the predicted first wrong step (ProcessBench's label: an index, or -1 for "no
error"), by a vote of the rationales' own first wrong steps (ProcessBench's maj@K); a tie goes to the
earliest wrong step, and "no error" loses a tie.

What is not parsed (and gives no steps rather than a guess): free-text rationales (GSM8K, the judge's own
wording), a part that is not a marked step, a rationale cut before any complete step. A rationale cut after
some complete steps (hit its token cap) counts for those steps; it votes for a first error only if it marked
one before the cut, and for "no error" only if it reached the closing ".".

`first_error_label` is the oracle's label of a candidate (its oracle rationale, parsed the same way); the metric
on these labels (ProcessBench's F1) is `genrm.analysis.steps`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Sequence

MARKS = {"ok": False, "wrong": True, "missing": True, "extra": True}  # True: the step is wrong
_PART = re.compile(r"^(?P<step>\S.*?)\s+(?P<mark>ok|wrong|missing|extra)(?:\s+\([^()]*\))?$")
NO_ERROR = -1  # ProcessBench's label of a solution without a wrong step


@dataclass(frozen=True)
class StepMarks:
    """One rationale: the steps it checked, whether it marked each wrong, and whether it reached its closing
    "." (`complete`)."""

    steps: tuple[str, ...]
    wrong: tuple[bool, ...]
    complete: bool

    @property
    def first_error(self) -> int | None:
        """Its first wrong step; NO_ERROR when complete without one; None when cut before any."""
        for i, w in enumerate(self.wrong):
            if w:
                return i
        return NO_ERROR if self.complete else None

    @property
    def verdict(self) -> bool | None:
        """The verdict the marks imply: True (correct) when complete with every step `ok`, False when any step is
        wrong, None when cut before either could be known."""
        return None if self.first_error is None else self.first_error == NO_ERROR


def parse_rationale(text: str) -> StepMarks | None:
    """The step marks of one rationale in the step tasks' format, or None if it has none (see the module)."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    complete = text.endswith(".")
    parts = [p.strip() for p in text.removesuffix(".").split(",")]
    steps: list[str] = []
    wrong: list[bool] = []
    for i, part in enumerate(parts):
        m = _PART.match(part)
        if m is None:
            if not complete and i == len(parts) - 1 and steps:  # cut in the middle of this step
                break
            return None
        steps.append(m["step"])
        wrong.append(MARKS[m["mark"]])
    if not steps:
        return None
    return StepMarks(tuple(steps), tuple(wrong), complete)


@dataclass(frozen=True)
class StepVerdicts:
    """A candidate's step verdicts from its K rationales.

    `wrong_share[i]`: of the rationales that reached step i, the share marking it wrong; `steps[i]`: that
    step as the longest parsed rationale wrote it; `first_error`: the predicted
    first wrong step (an index, NO_ERROR, or None when no rationale could vote); `votes`: how many rationales
    voted for it, of `parsed` that had steps (out of all K)."""

    steps: list[str]
    wrong_share: list[float]
    first_error: int | None
    votes: int
    parsed: int

    @property
    def step_min(self) -> float:
        """The PRM score: the lowest per-step score (1 - wrong share), as step-level Best-of-N ranks."""
        return min(1.0 - w for w in self.wrong_share)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "step_min": self.step_min}

    @classmethod
    def from_rationales(cls, rationales: Sequence[str]) -> "StepVerdicts | None":
        marks = [m for m in (parse_rationale(r) for r in rationales) if m is not None]
        if not marks:
            return None
        n = max(len(m.wrong) for m in marks)
        longest = max(marks, key=lambda m: len(m.wrong))
        share = []
        for i in range(n):
            reached = [m.wrong[i] for m in marks if len(m.wrong) > i]
            share.append(sum(reached) / len(reached))
        tally = Counter(m.first_error for m in marks if m.first_error is not None)
        first, votes = None, 0
        if tally:  # the most voted; among tied ones the earliest wrong step ("no error" loses a tie)
            votes = max(tally.values())
            tied = [k for k, v in tally.items() if v == votes]
            first = min((k for k in tied if k != NO_ERROR), default=NO_ERROR)
        return cls(list(longest.steps), share, first, votes, len(marks))


def first_error_label(oracle_rationale: str) -> int | None:
    """The true first wrong step of a candidate from its oracle rationale (None if it does not parse)."""
    marks = parse_rationale(oracle_rationale)
    return None if marks is None or not marks.complete else marks.first_error
