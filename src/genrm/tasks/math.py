"""MATH-style problems (Hendrycks et al., 2021), answers checked with `math-verify`.

Rows need `problem` (or `question`) and either `answer` or a `solution` whose last `\\boxed{...}`
is the answer (the MATH release). A generated solution's answer is its last `\\boxed{...}` or
what follows "The answer is". `math-verify` decides equivalence (fractions, LaTeX, sets, ...).
"""

from __future__ import annotations

from ..core.errors import GenrmError
from ..core.types import Problem
from .data import PAPER_HEADER, DataTask, answer_after_marker, check_text


def last_boxed(text: str) -> str | None:
    """The contents of the last \\boxed{...} (balanced braces), or None."""
    i = text.rfind("\\boxed")
    if i < 0:
        return None
    j = text.find("{", i)
    if j < 0:
        return None
    depth = 0
    for k in range(j, len(text)):
        depth += {"{": 1, "}": -1}.get(text[k], 0)
        if depth == 0:
            return text[j + 1 : k]
    return None


class MathTask(DataTask):
    name = "math"
    hub = ("HuggingFaceH4/MATH-500", None)
    fields = ()  # checked per row: problem/question and answer/solution
    prompt_template = PAPER_HEADER + "Q: {question}\nA: Let's think step by step.\n"

    def row_to_problem(self, row: dict, default_id: str) -> Problem:
        q = row.get("problem", row.get("question"))
        ans = row.get("answer")
        if ans is None and row.get("solution"):
            ans = last_boxed(row["solution"])
        if q is None or ans is None:
            raise GenrmError(
                f"math row {row.get('unique_id', default_id)} needs 'problem' (or 'question') and 'answer' "
                f"(or a 'solution' with \\boxed{{}}); it has {sorted(row)}"
            )
        check_text(q, "problem")
        check_text(ans, "answer")
        meta = {"solution": row["solution"]} if row.get("solution") else {}
        return Problem(str(row.get("unique_id", row.get("id", default_id))), q, str(ans), meta)

    def extract_answer(self, solution: str) -> str | None:
        return last_boxed(solution) or answer_after_marker(solution)

    def is_correct(self, problem: Problem, solution: str) -> bool:
        from math_verify import parse, verify

        got = self.extract_answer(solution)
        if got is None:
            return False
        gold = parse(f"${problem.answer}$")
        pred = parse(f"${got.rstrip('.')}$")
        try:
            return bool(gold and pred and verify(gold, pred))
        except Exception:  # math-verify raises on some malformed LaTeX: not an answer we can accept
            return False
