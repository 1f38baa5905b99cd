"""Readers of the public verifier benchmarks, each row validated (a bad row is an error naming the file, the row
and the field, never a silent skip).

- ProcessBench: `DIR/{gsm8k,math,olympiadbench,omnimath}.json` (the authors' JSON arrays) or, where there is
  network, the Hub dataset `Qwen/ProcessBench` (one split per subset). Fields `id`, `problem`, `steps` (list
  of strings), `label` (index of the first wrong step, -1 if none).
- BIG-Bench Mistake: `DIR/<task>.jsonl` with `input`, `steps`, `mistake_index` (null: no mistake).
- A Best-of-N file: JSONL, one problem a line, with N responses: `pred` (extracted answers), `score`
  (correctness, booleans) and optionally `pred_score` (a reward per response, `[x]` or `x`), `question` /
  `query` and the response texts (`code` or `response`), as QwenLM/Qwen2.5-Math's `math_cot_100.jsonl`.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import GenrmError

PROCESSBENCH_SUBSETS = ("gsm8k", "math", "olympiadbench", "omnimath")
PROCESSBENCH_HUB = "Qwen/ProcessBench"
BBM_TASKS = ("word_sorting", "multistep_arithmetic", "logical_deduction", "tracking_shuffled_objects", "dyck_languages")


@dataclass
class StepItem:
    """One solution split into steps, with the index of its first wrong step (None: none)."""

    id: str
    question: str
    steps: list[str]
    first_error: int | None
    subset: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class BonProblem:
    """One problem of a Best-of-N file: N responses, their answers, correctness and optional rewards."""

    id: str
    question: str
    responses: list[str]
    answers: list[str | None]
    correct: list[bool]
    rewards: list[float] | None


def take(items: list, limit: int, seed: int = 0) -> list:
    """`limit` items drawn at random (seeded), kept in file order; all of them when `limit` is 0. The files are
    not shuffled (ProcessBench lists its erroneous solutions first), so the first N would not be a sample."""
    if not limit or limit >= len(items):
        return list(items)
    keep = sorted(random.Random(seed).sample(range(len(items)), limit))
    return [items[i] for i in keep]


def _need(row: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(row, dict):
        raise GenrmError(f"{where}: a row must be a JSON object, got {type(row).__name__}")
    if key not in row:
        raise GenrmError(f"{where}: field '{key}' is missing")
    if not isinstance(row[key], kind):
        raise GenrmError(f"{where}: field '{key}' must be {getattr(kind, '__name__', kind)}, got {row[key]!r:.80}")
    return row[key]


def _steps(row: dict, where: str) -> list[str]:
    steps = _need(row, "steps", list, where)
    if not steps or not all(isinstance(s, str) for s in steps):
        raise GenrmError(f"{where}: 'steps' must be a non-empty list of strings")
    return steps


def processbench_item(row: Any, subset: str, where: str) -> StepItem:
    steps = _steps(row, where)
    label = _need(row, "label", int, where)
    if not -1 <= label < len(steps):
        raise GenrmError(f"{where}: label {label} is outside -1..{len(steps) - 1} (its {len(steps)} steps)")
    return StepItem(
        id=str(_need(row, "id", (str, int), where)),
        question=_need(row, "problem", str, where),
        steps=steps,
        first_error=None if label == -1 else label,
        subset=subset,
        meta={k: row[k] for k in ("generator", "final_answer_correct") if k in row},
    )


def load_processbench(source: str | Path | None, subset: str) -> list[StepItem]:
    """One ProcessBench subset from a folder of the authors' JSON files, or from the Hub (`source` None or
    `Qwen/ProcessBench`)."""
    if subset not in PROCESSBENCH_SUBSETS:
        raise GenrmError(f"ProcessBench subset '{subset}': use one of {', '.join(PROCESSBENCH_SUBSETS)}")
    if source is None or str(source) == PROCESSBENCH_HUB:
        try:
            from datasets import load_dataset

            rows = list(load_dataset(PROCESSBENCH_HUB, split=subset))
        except Exception as e:  # no network, no cache
            raise GenrmError(
                f"cannot load {PROCESSBENCH_HUB} ({type(e).__name__}: {e}); give the folder of the authors' "
                f"JSON files with --data (e.g. ../shared/data/benchmarks/processbench)"
            ) from None
        return [processbench_item(r, subset, f"{PROCESSBENCH_HUB}[{subset}] row {i}") for i, r in enumerate(rows)]
    path = Path(source) / f"{subset}.json"
    if not path.exists():
        raise GenrmError(f"{path} does not exist: --data must be a folder with {', '.join(PROCESSBENCH_SUBSETS)}.json")
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise GenrmError(f"{path}: malformed JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(rows, list):
        raise GenrmError(f"{path}: expected a JSON array of solutions")
    return [processbench_item(r, subset, f"{path} item {i}") for i, r in enumerate(rows)]


def _jsonl(path: Path) -> list[tuple[str, Any]]:
    if not path.exists():
        raise GenrmError(f"{path} does not exist")
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                out.append((f"{path} line {n}", json.loads(line)))
            except json.JSONDecodeError as e:
                raise GenrmError(f"{path} line {n}: malformed JSON ({e.msg})") from None
    return out


def load_bbm(folder: str | Path, task: str) -> list[StepItem]:
    """One BIG-Bench Mistake task (`DIR/<task>.jsonl`)."""
    if task not in BBM_TASKS:
        raise GenrmError(f"BIG-Bench Mistake task '{task}': use one of {', '.join(BBM_TASKS)}")
    items = []
    for i, (where, row) in enumerate(_jsonl(Path(folder) / f"{task}.jsonl")):
        steps = _steps(row, where)
        m = row.get("mistake_index") if isinstance(row, dict) else None
        if m is not None and (not isinstance(m, int) or not 0 <= m < len(steps)):
            raise GenrmError(f"{where}: mistake_index {m!r} must be null or a step index below {len(steps)}")
        items.append(
            StepItem(
                id=f"{task}-{i}",
                question=_need(row, "input", str, where),
                steps=steps,
                first_error=m,
                subset=task,
                meta={k: row[k] for k in ("answer", "target") if k in row},
            )
        )
    return items


def load_bon(path: str | Path) -> list[BonProblem]:
    """A Best-of-N JSONL file (see the module docstring); every problem must have the same N."""
    problems = []
    for i, (where, row) in enumerate(_jsonl(Path(path))):
        answers = _need(row, "pred", list, where)
        correct = _need(row, "score", list, where)
        if len(answers) != len(correct) or not answers:
            raise GenrmError(f"{where}: 'pred' ({len(answers)}) and 'score' ({len(correct)}) must be equally long")
        if not all(isinstance(c, bool) for c in correct):
            raise GenrmError(f"{where}: 'score' must be a list of booleans (is each response correct?)")
        rewards = None
        if "pred_score" in row:
            raw = _need(row, "pred_score", list, where)
            rewards = [r[0] if isinstance(r, list) and len(r) == 1 else r for r in raw]
            if len(rewards) != len(answers) or not all(isinstance(r, (int, float)) for r in rewards):
                raise GenrmError(f"{where}: 'pred_score' must hold one number (or [number]) per response")
        texts = row.get("code") or row.get("response") or [""] * len(answers)
        if not isinstance(texts, list) or len(texts) != len(answers):
            raise GenrmError(f"{where}: the response texts ('code' or 'response') must be one per response")
        question = row.get("question") or row.get("query") or row.get("problem") or ""
        problems.append(
            BonProblem(
                id=str(row.get("idx", i)),
                question=str(question),
                responses=[str(t) for t in texts],
                answers=[None if a is None else str(a) for a in answers],
                correct=list(correct),
                rewards=[float(r) for r in rewards] if rewards is not None else None,
            )
        )
    if not problems:
        raise GenrmError(f"{path}: no problems")
    sizes = {len(p.answers) for p in problems}
    if len(sizes) > 1:
        raise GenrmError(f"{path}: problems have different numbers of responses ({sorted(sizes)}); give N each")
    return problems
