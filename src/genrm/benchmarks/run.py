"""Running a verifier over a benchmark: resumable predictions per subset, then the authors' metrics.

OUT/predictions/<subset>.jsonl   one line per solution: id, label, predicted first wrong step, verdict,
                                 prefix scores or critiques (appended as they are made: a re-run resumes)
OUT/results.json                 settings, environment, the metrics (see `genrm.analysis.benchmarks`)
OUT/results.md, OUT/report.html  the same as a table, and a browser of the solutions with their steps
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

from ..analysis.benchmarks import bon_table, mistake_auroc, mistake_location, processbench_summary
from ..core.errors import GenrmError
from ..core.io import environment, read_json, write_json
from ..core.progress import progress_bar
from .data import BonProblem, StepItem
from .judges import StepJudge

NO_ERROR = -1


def _done(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # a line cut by a kill: made again
                continue
            out[row["id"]] = row
    return out


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
    rows: dict[str, list] = {}
    total = sum(len(v) for v in subsets.values())
    with progress_bar(f"{judge.name}: solutions", total) as (bar, tid):
        for subset, items in subsets.items():
            path = out / "predictions" / f"{subset}.jsonl"
            done = _done(path)
            bar.advance(tid, sum(it.id in done for it in items))
            todo = [it for it in items if it.id not in done]
            with open(path, "a", encoding="utf-8") as f:
                for i in range(0, len(todo), chunk):
                    part = todo[i : i + chunk]
                    for it, p in zip(part, judge.predict(part)):
                        row = {"id": it.id, "label": it.first_error, "n_steps": len(it.steps), **asdict(p)}
                        done[it.id] = row
                        f.write(json.dumps(row) + "\n")
                    f.flush()
                    bar.advance(tid, len(part))
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
    path = out / "predictions" / "bon.jsonl"
    done = _done(path)
    with progress_bar(f"{getattr(reward_model, 'name', 'verifier')}: problems", len(problems)) as (bar, tid):
        bar.advance(tid, sum(p.id in done for p in problems))
        with open(path, "a", encoding="utf-8") as f:
            todo = [p for p in problems if p.id not in done]
            for i in range(0, len(todo), chunk):
                part = todo[i : i + chunk]
                results = reward_model.score([(p.question, r) for p in part for r in p.responses])
                at = 0
                for p in part:
                    row = {"id": p.id, "scores": [r.score for r in results[at : at + len(p.responses)]]}
                    at += len(p.responses)
                    done[p.id] = row
                    f.write(json.dumps(row) + "\n")
                f.flush()
                bar.advance(tid, len(part))
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
