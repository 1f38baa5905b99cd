"""The ordered stages of a run, each marked done when it finishes, so that a re-run resumes."""

from __future__ import annotations

import time
from functools import partial
from typing import Any, Callable

from ..core.distributed import world_size
from ..core.errors import GenrmError
from ..core.io import read_json
from ..core.progress import console
from ..core.types import TRAINED_KINDS
from .evaluation import evaluate_run, probe_models
from .generation import label, sample, train_generator
from .problems import make_problems
from .run import Run
from .scoring import score
from .verification import make_verifier_data, train_verifier

Stage = tuple[str, Callable[[], object]]  # (marker, what to run)


def stages(run: Run) -> list[Stage]:
    """The ordered (marker, function) list that a full run executes."""
    c = run.config
    out: list[Stage] = [("problems", lambda: make_problems(run))]
    if not c.generator:
        out.append(("generator", lambda: train_generator(run)))
    if not c.verifier_data_dir:
        out.append(("sample_verifier_train", lambda: sample(run, "verifier_train")))
        out.append(("label_verifier_train", lambda: label(run, "verifier_train")))
    split = run.split
    if not (c.test_candidates and split == "test"):
        out.append((f"sample_{split}", lambda: sample(run, split)))
        out.append((f"label_{split}", lambda: label(run, split)))
    if not (c.generator or c.verifier_base or c.test_candidates):
        out.append((run.stage("probe"), lambda: probe_models(run)))
    if any(k in c.method_list for k in TRAINED_KINDS):
        out.append(("verifier_data", lambda: make_verifier_data(run)))
    for kind in TRAINED_KINDS:
        if kind in c.method_list:
            out.append((f"train_{kind}", partial(train_verifier, run, kind)))
    for m in c.method_list:
        out.append((run.stage(f"score_{m}"), partial(score, run, m)))
    out.append((run.stage("evaluate"), lambda: evaluate_run(run)))
    return out


def run_all(run: Run) -> dict:
    """Run every stage not yet done (a re-run resumes after the last finished stage)."""
    if world_size() > 1:
        raise GenrmError(
            f"`genrm run` runs in one process, not under a launcher ({world_size()} processes here): launch only the "
            "training stages, `accelerate launch $(which genrm) train-verifier RUN KIND`, then `genrm run RUN`"
        )
    result = None
    for marker, fn in stages(run):
        if run.done(marker):
            continue
        console.print(f"[bold cyan]▶ {marker}")
        t0 = time.time()
        result = fn()
        info: dict[str, Any] = {"seconds": round(time.time() - t0, 1)}
        if isinstance(result, dict) and marker.startswith("label"):
            info.update(result)
        run.mark(marker, info)
    return read_json(run.out("results.json"))
