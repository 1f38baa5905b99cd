"""GSM8K (Cobbe et al., 2021): grade-school math word problems with numeric answers.

Official JSONL rows: `{"question": ..., "answer": "...<<48/2=24>>... #### 72"}`; the Hub dataset
is `openai/gsm8k` (config `main`). Reference answers follow `####`; generated solutions end with
"The answer is X" (the GenRM paper's format, whose instruction header is the default prompt).
Answers are compared numerically ($, commas, fractions and signs handled).
"""

from __future__ import annotations

import re

from ..core.types import Problem
from .data import DataTask, answer_after_marker, numbers_equal, to_number

_CALC = re.compile(r"<<[^>]*>>")


def reference_answer(answer_field: str) -> str:
    """The final answer after '####' in an official GSM8K answer field."""
    return answer_field.split("####")[-1].strip().replace(",", "")


def reference_solution_text(answer_field: str) -> str:
    """The official solution in the generated format: calculator notes dropped, '#### X' -> 'The answer is X.'"""
    body, _, final = answer_field.rpartition("####")
    body = _CALC.sub("", body).strip()
    return f"{body}\nThe answer is {final.strip()}."


class GSM8K(DataTask):
    name = "gsm8k"
    hub = ("openai/gsm8k", "main")
    fields = ("question", "answer")

    def row_to_problem(self, row: dict, default_id: str) -> Problem:
        pid = str(row.get("id", default_id))
        return Problem(
            pid,
            row["question"],
            reference_answer(row["answer"]),
            {"solution": reference_solution_text(row["answer"])},
        )

    def extract_answer(self, solution: str) -> str | None:
        value = to_number(answer_after_marker(solution))
        return None if value is None else f"{value:g}"

    def is_correct(self, problem: Problem, solution: str) -> bool:
        return numbers_equal(to_number(answer_after_marker(solution)), to_number(problem.answer))
