"""Your own data: a JSONL task with `question`, `answer` and an optional per-row `checker`.

Checkers: `numeric` (default; numbers compared after removing $ and commas), `exact` (string
equality after trimming and case-folding), `math` (math-verify). Generated solutions end with
"The answer is X". Pass a folder with `train.jsonl`/`test.jsonl`, or one `.jsonl` file that the
pipeline splits into disjoint test and training problems.
"""

from __future__ import annotations

from ..core.errors import GenrmError
from ..core.types import Problem
from .data import DataTask, answer_after_marker, numbers_equal, to_number

CHECKERS = ("numeric", "exact", "math")


class JsonlTask(DataTask):
    name = "jsonl"
    hub = None
    fields = ("question", "answer")

    def __init__(self, data: str | None = None, prompt_template: str | None = None, checker: str = "numeric"):
        super().__init__(data, prompt_template)
        if checker not in CHECKERS:
            raise GenrmError(f"unknown checker '{checker}': use one of {', '.join(CHECKERS)}")
        self.checker = checker

    def row_to_problem(self, row: dict, default_id: str) -> Problem:
        checker = row.get("checker", self.checker)
        if checker not in CHECKERS:
            raise GenrmError(f"unknown checker {checker!r}; use one of {', '.join(CHECKERS)}")
        meta = {"checker": checker, **({"solution": row["solution"]} if row.get("solution") else {})}
        return Problem(str(row.get("id", default_id)), str(row["question"]), str(row["answer"]), meta)

    def check_problem(self, problem: Problem) -> None:
        super().check_problem(problem)
        if problem.meta.get("checker", self.checker) == "numeric" and to_number(problem.answer) is None:
            raise GenrmError(
                f"answer {problem.answer!r} is not a number, which the numeric checker needs (every candidate would "
                'be graded wrong); add "checker": "exact" (or "math") to the row'
            )

    def extract_answer(self, solution: str) -> str | None:
        return answer_after_marker(solution)

    def is_correct(self, problem: Problem, solution: str) -> bool:
        got = self.extract_answer(solution)
        if got is None:
            return False
        checker = problem.meta.get("checker", self.checker)
        if checker == "exact":
            return got.strip().rstrip(".").casefold() == problem.answer.strip().casefold()
        if checker == "math":
            from .math import MathTask

            return MathTask().is_correct(problem, solution)
        return numbers_equal(to_number(got), to_number(problem.answer))
