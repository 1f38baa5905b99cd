"""Tasks backed by a dataset (GSM8K, MATH, your own JSONL): problems are loaded, not generated.

The data comes from a local path (a folder holding `{split}.jsonl`, or one `.jsonl` file) or a
Hugging Face Hub dataset id (`datasets.load_dataset`). Each task maps a raw row to a `Problem`
and names the fields it needs, so a file without them fails at once with the fields listed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

from ..core.errors import GenrmError
from ..core.formats import VerifyFormat
from ..core.io import numbered_jsonl
from ..core.types import Problem

# The instruction header of the GenRM paper's GSM8K data (the released verifier rows start with it).
PAPER_HEADER = (
    'Solve the math problems and provide step-by-step solutions, ending with "The answer is [Insert Final Answer '
    'Here]".\nWhen asked "Verification: Is the answer correct (Yes/No)?", respond with " Yes" or " No" based on '
    "the answer's correctness.\nWhen asked \"Verification: Let's verify step by step.\", verify every step of the "
    'solution and conclude with "Verification: Is the answer correct (Yes/No)?" followed by " Yes" or " No".\n\n'
)
PAPER_PROMPT = PAPER_HEADER + "Q: {question}\nA: Let's think step by step.\n"

# The teacher's reference-guided grading prompt of the paper's released rationale logs.
TEACHER_PROMPT = (
    "You are a math teacher. Grade the Solution, verifying correctness step by step. Use Expected Answer to find "
    "any erroneous step in the Solution. At the end of the Solution verification, when you give your final grade, "
    'write it in the form "Verification: Is the answer correct (Yes/No)? X",  where X is either Yes or No.\n\n'
    "Question: {question}\nSolution: {solution}\nExpected Answer: {reference}"
)

_ANSWER_IS = re.compile(r"the (?:final )?answer is[:\s]*", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")


def answer_after_marker(text: str) -> str | None:
    """The text after the last 'The answer is', up to the end of its line, or None."""
    found = list(_ANSWER_IS.finditer(text))
    if not found:
        return None
    rest = text[found[-1].end() :].split("\n")[0].strip()
    return rest or None


def to_number(text: str | None) -> float | None:
    """The first number in `text` ('$1,234.50' -> 1234.5, '-3/4' -> -0.75), or None."""
    if text is None:
        return None
    m = _NUMBER.search(text.replace("$", ""))
    if not m:
        return None
    s = m.group(0).replace(",", "")
    try:
        if "/" in s:
            a, b = s.split("/")
            return float(a) / float(b) if float(b) else None
        return float(s)
    except ValueError:
        return None


def _located(path: Path, fields: tuple[str, ...]) -> tuple[list[dict], list[str]]:
    numbered = list(numbered_jsonl(path, fields))
    return [row for _, row in numbered], [f"{path}:{n}" for n, _ in numbered]


def check_text(value: object, key: str, loc: str = "") -> None:
    """A row's text field must be a string (a number is accepted for an answer), never null, a list or an object."""
    if isinstance(value, str) or (key == "answer" and isinstance(value, (int, float)) and not isinstance(value, bool)):
        return
    shown = "null" if value is None else type(value).__name__
    where = f"{loc}: " if loc else ""
    allowed = "a string or a number" if key == "answer" else "a string"
    raise GenrmError(f"{where}field '{key}' is {shown}; it must be {allowed}")


def numbers_equal(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and abs(a - b) <= 1e-6 + 1e-9 * abs(b)


class DataTask:
    """Base class of dataset tasks. Subclasses set `name`, `hub`, `fields` and `row_to_problem`."""

    name = "data"
    hub: tuple[str, str | None] | None = None  # default Hub dataset (id, config)
    fields: tuple[str, ...] = ("question", "answer")
    prompt_template = PAPER_PROMPT
    verify_format = VerifyFormat()  # the paper's format: multi-line rationales end at the decision line
    has_oracle = False  # no program writes rationales; a teacher model does (--teacher MODEL)

    def __init__(self, data: str | None = None, prompt_template: str | None = None):
        self.data = data
        if prompt_template is not None:
            if "{question}" not in prompt_template:
                raise GenrmError(f"prompt_template {prompt_template!r} lacks '{{question}}'; add it")
            self.prompt_template = prompt_template

    # -- loading ----------------------------------------------------------------------
    def load(self, split: str) -> list[Problem]:
        """Problems of a split ('train' or 'test'), in the dataset's order.

        Every row is checked where it is read: its fields' types, a non-empty question, an answer the
        checker can compare, and an id no other row has; an error names `file:line` and the fix.
        """
        rows, where = self._rows(split)
        problems: list[Problem] = []
        seen: dict[str, str] = {}
        for i, row in enumerate(rows):
            loc = where[i]
            for key in self.fields:
                check_text(row.get(key), key, loc)
            rid = row.get("id")
            if rid is not None and (isinstance(rid, bool) or not isinstance(rid, (str, int))):
                raise GenrmError(f"{loc}: field 'id' is {type(rid).__name__}; it must be a string or an integer")
            try:
                problem = self.row_to_problem(row, f"{split}-{i}")
                self.check_problem(problem)
            except GenrmError as e:
                raise GenrmError(f"{loc}: {e}") from None
            if problem.id in seen:
                other = seen[problem.id]
                raise GenrmError(f"{loc}: id {problem.id!r} is also the id of {other}; give each row its own id")
            seen[problem.id] = loc
            problems.append(problem)
        return problems

    def check_problem(self, problem: Problem) -> None:
        """Refuse a problem this task cannot grade (raise GenrmError naming the fix)."""
        if not problem.question.strip():
            raise GenrmError("empty question; give the row a question")
        if not problem.answer.strip():
            raise GenrmError("empty answer; give the row its reference answer")

    def _rows(self, split: str) -> tuple[list[dict], list[str]]:
        """The raw rows of a split and, per row, where it came from (`file:line`, or Hub id, split and index)."""
        src = self.data or (self.hub[0] if self.hub else None)
        if not src:
            raise GenrmError(f"task '{self.name}' needs data: pass --data PATH (a .jsonl file or folder) or a Hub id")
        p = Path(src)
        if p.is_dir():
            f = p / f"{split}.jsonl"
            if not f.exists():
                have = ", ".join(sorted(x.name for x in p.glob("*.jsonl"))) or "none"
                raise GenrmError(f"{p} has no {split}.jsonl (it has: {have}); name the files train.jsonl/test.jsonl")
            return _located(f, self.fields)
        if p.suffix in (".jsonl", ".json") or p.exists():
            if not p.exists():
                raise GenrmError(f"data file {p} does not exist")
            # one file: the pipeline splits it
            return _located(p, self.fields)
        rows = self._hub_rows(src, split)
        return rows, [f"{src} ({split} row {i})" for i in range(len(rows))]

    def _hub_rows(self, repo: str, split: str) -> list[dict]:
        try:
            import datasets
        except ImportError as e:
            raise GenrmError("loading a Hub dataset needs `datasets`: pip install datasets") from e
        config = self.hub[1] if self.hub and self.hub[0] == repo else None
        try:
            ds = datasets.load_dataset(repo, config, split=split)
        except Exception as e:  # network, missing split, unknown id: one line naming the fix
            raise GenrmError(
                f"cannot load Hub dataset '{repo}' split '{split}': {str(e).splitlines()[0]} "
                "(offline? pass --data with a local .jsonl path)"
            ) from e
        missing = [f for f in self.fields if f not in ds.column_names]
        if missing:
            raise GenrmError(f"Hub dataset '{repo}' lacks field(s) {', '.join(missing)} (has {ds.column_names})")
        return list(ds)

    def single_file(self) -> bool:
        """True when the data is one file (train and test are carved out of it)."""
        return bool(self.data) and Path(str(self.data)).is_file()

    # -- to be defined by each task -----------------------------------------------------
    def row_to_problem(self, row: dict, default_id: str) -> Problem:
        raise NotImplementedError

    def extract_answer(self, solution: str) -> str | None:
        raise NotImplementedError

    def is_correct(self, problem: Problem, solution: str) -> bool:
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------
    def make_problems(self, n: int, n_words: Sequence[int] = (), seed: int | str = 0) -> list[Problem]:
        import random

        ps = self.load("train")
        random.Random(seed).shuffle(ps)
        return ps[:n]

    def prompt(self, problem: Problem) -> str:
        return self.prompt_template.format(question=problem.question)

    def reference_solution(self, problem: Problem) -> str:
        return problem.meta.get("solution") or f"The answer is {problem.answer}."

    def teacher_prompt(self, problem: Problem, solution: str) -> str:
        """The paper's reference-guided grading prompt: the teacher sees the reference solution."""
        return TEACHER_PROMPT.format(
            question=problem.question, solution=solution.strip(), reference=self.reference_solution(problem)
        )

    def oracle_rationale(self, problem: Problem, solution: str, decision: str = "") -> str:
        raise GenrmError(
            f"task '{self.name}' has no oracle rationales; write GenRM-CoT rationales with a teacher "
            "(--teacher MODEL) or import the paper's (genrm import-release, then --verifier-data-dir)"
        )
