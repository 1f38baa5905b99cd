"""Typed rows of the JSONL files genrm reads, checked where they are read.

`read_rows(path, Model)` validates every row with a pydantic model and refuses the first bad one with
`file:line`, the field and the fix; with `key`, a value that two rows share is refused naming both
lines. Extra fields are kept (files carry metadata), types are strict except that an integer id is
read as its string.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from .errors import GenrmError
from .io import numbered_jsonl


def _id_text(v: Any) -> Any:
    return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


Id = Annotated[str, BeforeValidator(_id_text), Field(min_length=1)]
Text = Annotated[str, Field(min_length=1)]


class Row(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class ProblemRow(Row):
    """problems/<split>.jsonl, and the problems of an imported test set."""

    id: Id
    question: Text
    answer: str | None = None
    meta: dict[str, Any] = {}


class CandidateRow(Row):
    index: int
    text: str
    answer: str | None = None
    correct: bool | None = None


class CandidatesRow(Row):
    """candidates/<split>.jsonl: a problem's labelled candidates."""

    problem_id: Id
    candidates: list[CandidateRow]


class VerifierRow(Row):
    """verifier_data/<kind>.jsonl (built, imported or converted from the paper's release)."""

    prompt: str
    completion: str
    label: bool | None = None


class PreferenceRow(Row):
    """verifier_data/dpo.jsonl: TRL's preference form (a correct and an incorrect solution of one prompt)."""

    prompt: str
    chosen: str
    rejected: str


def _message(err: Any) -> str:
    field = ".".join(str(x) for x in err["loc"]) or "row"
    got = err.get("input")
    shown = "null" if got is None else type(got).__name__
    if err["type"] == "missing":
        return f"missing field '{field}'"
    return f"field '{field}' ({shown}): {err['msg'].lower()}"


def read_rows(path: str | Path, model: type[Row], key: str | None = None) -> list[dict[str, Any]]:
    """Every row of `path` validated as `model` (as plain dicts); errors name `file:line` and the fix."""
    out: list[dict[str, Any]] = []
    seen: dict[Any, int] = {}
    for n, raw in numbered_jsonl(path):
        try:
            row = model.model_validate(raw).model_dump()
        except ValidationError as e:
            raise GenrmError(f"{path}:{n}: {_message(e.errors()[0])}; fix or delete that row") from None
        if key is not None:
            if row[key] in seen:
                raise GenrmError(f"{path}:{n}: {key} {row[key]!r} is also on line {seen[row[key]]}; keep one of them")
            seen[row[key]] = n
        out.append(row)
    return out
