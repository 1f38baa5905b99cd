"""A run folder written before the package re-layout (issue 30) still loads and resumes.

`tests/fixtures/run-before-relayout` is a micro quickstart made by commit 153941c (`genrm quickstart --preset
micro`), its model weights cut off after the safetensors header (the evaluation stage reads the models'
configs, tokenizers and parameter counts only). Its evaluation
marker and results are removed here and the run resumed: only that stage runs, and the results equal the ones
the old code wrote."""

from __future__ import annotations

import shutil
from pathlib import Path

from genrm import pipeline
from genrm.core.config import RunConfig
from genrm.core.io import read_json

FIXTURE = Path(__file__).parent / "fixtures" / "run-before-relayout"
VARYING = ("environment",)  # the machine and versions of the run


def _comparable(results: dict) -> dict:
    out = {k: v for k, v in results.items() if k not in VARYING}
    out["stage_logs"] = {k: v for k, v in out["stage_logs"].items() if k != "stage_seconds"}
    return out


def test_old_run_folder_resumes_to_the_same_results(tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    before = read_json(run_dir / "results.json")
    (run_dir / ".done" / "evaluate").unlink()
    (run_dir / "results.json").unlink()
    run = pipeline.Run(run_dir)
    todo = [marker for marker, _ in pipeline.stages(run) if not run.done(marker)]
    assert todo == ["evaluate"], todo
    after = pipeline.run_all(run)
    # settings added since the old run was made appear in its config with their defaults
    added = {k: v for k, v in after["config"].items() if k not in before["config"]}
    assert added == {k: getattr(RunConfig(), k) for k in added}, added
    after["config"] = {k: v for k, v in after["config"].items() if k in before["config"]}
    assert _comparable(after) == _comparable(before)
    assert (run_dir / "report.html").exists()
