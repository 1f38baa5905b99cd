"""Running a verifier over a benchmark: resumable predictions per subset, then the authors' metrics.

OUT/predictions/<subset>.jsonl   one line per solution: id, label, predicted first wrong step, verdict,
                                 prefix scores or critiques (appended as they are made: a re-run resumes)
OUT/results.json                 settings, environment, the metrics (see `genrm.analysis.benchmarks`)
OUT/results.md, OUT/report.html  the same as a table, and a browser of the solutions with their steps
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

from ..analysis.benchmarks import bon_table, mistake_auroc, mistake_location, processbench_summary
from ..core.errors import GenrmError
from ..core.io import environment, read_json, resume_jsonl, write_json
from ..core.steps import NO_ERROR
from .data import BonProblem, StepItem
from .judges import StepJudge


def _check_settings(out: Path, settings: dict) -> None:
    """A re-run resumes only with the same benchmark and verifier: predictions of another are not mixed in."""
    f = out / "settings.json"
    if f.exists():
        before = read_json(f)
        if before != settings:
            changed = sorted(k for k in set(before) | set(settings) if before.get(k) != settings.get(k))
            raise GenrmError(f"{out} holds predictions made with other settings ({', '.join(changed)}); use --out NEW")
    else:
        write_json(f, settings)


def predict_steps(judge: StepJudge, subsets: dict[str, list[StepItem]], out: Path, chunk: int = 8) -> dict[str, list]:
    """Predictions for every solution, appended per chunk to OUT/predictions/<subset>.jsonl (resumed)."""
    (out / "predictions").mkdir(parents=True, exist_ok=True)

    def work(_offset: int, part: list[StepItem]) -> list[dict]:
        return [
            {"id": it.id, "label": it.first_error, "n_steps": len(it.steps), **asdict(p)}
            for it, p in zip(part, judge.predict(part))
        ]

    rows: dict[str, list] = {}
    for subset, items in subsets.items():
        done, _ = resume_jsonl(
            out / "predictions" / f"{subset}.jsonl",
            items,
            lambda it: it.id,
            lambda row: row["id"],
            work,
            chunk=chunk,
            description=f"{judge.name}: {subset}",
            required=("id", "label", "first_error", "verdict"),
        )
        rows[subset] = [done[it.id] for it in items]
    return rows


def step_metrics(kind: str, rows: dict[str, list]) -> dict[str, Any]:
    """ProcessBench F1 per subset and averaged, or BIG-Bench Mistake location accuracy and AUROC per task."""
    if kind == "processbench":
        return processbench_summary(
            {
                s: ([NO_ERROR if r["label"] is None else r["label"] for r in rs], [r["first_error"] for r in rs])
                for s, rs in rows.items()
            }
        )
    out: dict[str, Any] = {"tasks": {}}
    for task, rs in rows.items():
        loc = mistake_location(
            [r["label"] for r in rs], [None if r["first_error"] == NO_ERROR else r["first_error"] for r in rs]
        )
        loc.update(mistake_auroc([r["label"] is not None for r in rs], [1 - r["verdict"] for r in rs]))
        out["tasks"][task] = loc
    return out


def run_step_benchmark(
    kind: str, judge: StepJudge, subsets: dict[str, list[StepItem]], out: str | Path, settings: dict
) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _check_settings(out, settings)
    rows = predict_steps(judge, subsets, out)
    results = {
        "benchmark": kind,
        "verifier": judge.name,
        "settings": settings,
        "n": {s: len(v) for s, v in rows.items()},
        "parsed": {s: sum(r["first_error"] is not None for r in v) / max(1, len(v)) for s, v in rows.items()},
        **step_metrics(kind, rows),
    }
    write_json(out / "results.json", {"environment": environment(), **results})
    return results


def score_bon(problems: Sequence[BonProblem], reward_model: Any, out: Path, chunk: int = 16) -> list[list[float]]:
    """A verifier's score of every response (resumable: OUT/predictions/bon.jsonl)."""
    (out / "predictions").mkdir(parents=True, exist_ok=True)

    def work(_offset: int, part: list[BonProblem]) -> list[dict]:
        results = reward_model.score([(p.question, r) for p in part for r in p.responses])
        rows, at = [], 0
        for p in part:
            rows.append({"id": p.id, "scores": [r.score for r in results[at : at + len(p.responses)]]})
            at += len(p.responses)
        return rows

    done, _ = resume_jsonl(
        out / "predictions" / "bon.jsonl",
        list(problems),
        lambda p: p.id,
        lambda row: row["id"],
        work,
        chunk=chunk,
        description=f"{getattr(reward_model, 'name', 'verifier')}: problems",
        required=("id", "scores"),
    )
    return [done[p.id]["scores"] for p in problems]


def run_bon(problems: Sequence[BonProblem], reward_model: Any | None, out: str | Path, settings: dict) -> dict:
    """Best-of-N, self-consistency, weighted SC and pass@N at every N with the file's rewards and/or a genrm
    verifier's scores, and the authors' rm@k / maj@k."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _check_settings(out, settings)
    scores: dict[str, list[list[float]]] = {}
    if all(p.rewards is not None for p in problems):
        scores["file"] = [list(p.rewards or []) for p in problems]
    if reward_model is not None:
        scores[getattr(reward_model, "name", "verifier")] = score_bon(problems, reward_model, out)
    if not scores:
        raise GenrmError("the file has no 'pred_score' and no --verifier was given: nothing ranks the responses")
    table = bon_table([p.correct for p in problems], [p.answers for p in problems], scores)
    results = {"benchmark": "bon", "settings": settings, "n_problems": len(problems), **table}
    write_json(out / "results.json", {"environment": environment(), **results})
    return results
