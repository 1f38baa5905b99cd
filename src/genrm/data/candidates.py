"""Sampling N candidates per problem (resumable) and labelling them with the task's check."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..core.errors import GenrmError
from ..core.io import iter_jsonl, resume_jsonl, write_jsonl
from ..core.schemas import CandidatesRow, read_rows
from ..core.types import Candidate, Problem, Task


def sample_candidates(
    engine,
    task: Task,
    problems: Sequence[Problem],
    out_path: str | Path,
    n: int,
    temperature: float = 1.0,
    max_new_tokens: int = 64,
    seed: int = 0,
    chunk: int = 64,
    description: str = "sampling",
    shard: tuple[int, int] | None = None,
    done_in: str | Path | None = None,
) -> int:
    """Append `{"problem_id", "samples"}` rows to `out_path`, skipping problems already there.

    Problems are processed in fixed chunks with a seed per chunk, so an interrupted run resumes
    where it stopped without losing or duplicating candidates. Returns rows written now. `shard` and
    `done_in`: one worker's share of the chunks (see `genrm.core.io.resume_jsonl`).
    """

    def work(start: int, part: list[Problem]) -> list[dict]:
        outs = engine.generate(
            [task.prompt(p) for p in part],
            n=n,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            seed=seed * 1_000_003 + start,
        )
        return [{"problem_id": p.id, "samples": texts} for p, texts in zip(part, outs)]

    _, written = resume_jsonl(
        out_path,
        problems,
        lambda p: p.id,
        lambda row: row["problem_id"],
        work,
        chunk=chunk,
        description=description,
        required=("problem_id", "samples"),
        complete=lambda row: len(row["samples"]) == n,
        shard=shard,
        done_in=done_in,
    )
    return written


def label_candidates(task: Task, problems: Sequence[Problem], samples_path, out_path) -> dict:
    """Extract and check each sample's answer; write `{"problem_id", "candidates": [...]}` rows."""
    by_id = {}
    for row in iter_jsonl(samples_path, ("problem_id", "samples")):
        by_id[row["problem_id"]] = row["samples"]
    missing = [p.id for p in problems if p.id not in by_id]
    if missing:
        raise GenrmError(
            f"{samples_path}: {len(missing)} problem(s) have no samples (e.g. {missing[0]}); re-run sampling"
        )
    rows, n_correct, n_total = [], 0, 0
    for p in problems:
        if not by_id[p.id]:
            raise GenrmError(f"{samples_path}: problem {p.id} has an empty candidate set; re-run sampling with n >= 1")
        cands = []
        for i, text in enumerate(by_id[p.id]):
            ok = task.is_correct(p, text)
            cands.append({"index": i, "text": text, "answer": task.extract_answer(text), "correct": ok})
            n_correct += ok
            n_total += 1
        rows.append({"problem_id": p.id, "candidates": cands})
    write_jsonl(out_path, rows)
    return {"problems": len(rows), "candidates": n_total, "correct": n_correct, "accuracy": n_correct / max(n_total, 1)}


def load_candidates(path, problems: Sequence[Problem] | None = None) -> dict[str, list[Candidate]]:
    """Labelled candidates by problem id; checks that every given problem has a non-empty set."""
    out: dict[str, list[Candidate]] = {}
    for row in read_rows(path, CandidatesRow, key="problem_id"):
        out[row["problem_id"]] = [
            Candidate(row["problem_id"], c["index"], c["text"], c.get("answer"), c.get("correct"))
            for c in row["candidates"]
        ]
    for p in problems or ():
        if not out.get(p.id):
            raise GenrmError(f"{path}: problem {p.id} has no candidates; re-run sampling and labelling")
    return out
