"""Scoring a split's candidates with one verification method (resumable per problem)."""

from __future__ import annotations

from ..core.io import resume_jsonl
from ..core.types import Result, Score
from ..data.candidates import load_candidates
from ..verifiers import check_method
from .run import Run
from .shards import gather, shard_file
from .verification import make_verifier


def score(run: Run, method: str, chunk: int = 32, shard: tuple[int, int] | None = None) -> int:
    """Score every candidate of the run's evaluated split with `method`; resumes per problem. With `workers` > 1
    the problems are spread over that many processes, each with its own verifier (`genrm.pipeline.shards`);
    `shard=(w, n)` is one such worker's share."""
    check_method(method)
    split = run.split
    problems = run.problems(split)
    cands = load_candidates(run.file("candidates", f"{split}.jsonl"), problems)
    out = run.out("scores", f"{method}.jsonl")
    required = ("problem_id", "scores")
    if shard is None:
        argv = ["score", str(run.path), method, "--split", split]
        keys = [p.id for p in problems]
        written = gather(run, argv, out, keys, lambda row: row["problem_id"], required, description=f"scoring {method}")
        if written is not None:
            return written
    verifier = None

    def work(start: int, part: list) -> list[dict]:
        nonlocal verifier
        verifier = verifier or make_verifier(run, method)  # built only when something is left to score
        items = [(run.task.prompt(p), cd.text) for p in part for cd in cands[p.id]]
        unique = list(dict.fromkeys(items))  # identical candidates are scored once
        scored = dict(zip(unique, verifier.score(unique)))
        rows, k = [], 0
        for p in part:
            rs = [scored[it] for it in items[k : k + len(cands[p.id])]]
            k += len(cands[p.id])
            rows.append({"problem_id": p.id, "scores": [_score_row(cd.index, r) for cd, r in zip(cands[p.id], rs)]})
        return rows

    _, written = resume_jsonl(
        out if shard is None else shard_file(out, shard),
        problems,
        lambda p: p.id,
        lambda row: row["problem_id"],
        work,
        chunk=chunk,
        description=f"scoring {method}",
        required=required,
        shard=shard,
        done_in=out if shard else None,
    )
    return written


def _score_row(index: int, r: Result) -> dict:
    return Score.of(index, r).to_dict()
