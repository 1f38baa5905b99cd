"""A real `genrm` process killed with SIGKILL in each of five stages (pretraining, sampling, ORM and GenRM-CoT
training, GenRM-CoT scoring), then run again, ends with the artefacts and results of a run that was never
interrupted. 96 test problems: sampling writes 64 and scoring 32 at a time, so a kill falls between two chunks
or while one is being written. Trainings checkpoint by time only here (the default way; every 0.06 s), so a
kill resumes from a time-based checkpoint."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ARGS = [
    "--preset",
    "micro",
    "--methods",
    "orm,genrm_cot",
    "--ver-steps",
    "24",
    "--gen-steps",
    "120",
    "--n-test",
    "96",
    "--checkpoint-steps",
    "0",
    "--checkpoint-minutes",
    "0.001",
]


def _genrm(out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "genrm", "quickstart", "--out", str(out), *ARGS],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


# (what the kill interrupts, the stage's done-marker, a condition on the run folder that says it is under way)
KILLS = [
    ("pretraining", "generator", lambda r: any(r.glob("models/pretrained/base.checkpoints/checkpoint-*"))),
    ("sampling", "sample_test", lambda r: _lines(r / "samples" / "test.jsonl") >= 1),
    ("ORM training", "train_orm", lambda r: any(r.glob("models/orm.checkpoints/checkpoint-*"))),
    ("GenRM-CoT training", "train_genrm_cot", lambda r: any(r.glob("models/genrm_cot.checkpoints/checkpoint-*"))),
    ("GenRM-CoT scoring", "score_genrm_cot", lambda r: _lines(r / "scores" / "genrm_cot.jsonl") >= 1),
]


def _rows(path: Path) -> list:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_kill_at_any_stage_then_rerun_equals_an_unbroken_run(tmp_path):
    clean = tmp_path / "clean"
    assert _genrm(clean).wait(timeout=600) == 0
    killed = tmp_path / "killed"
    for what, marker, under_way in KILLS:
        proc = _genrm(killed)
        deadline = time.monotonic() + 300
        while proc.poll() is None and not under_way(killed):
            assert time.monotonic() < deadline, f"{what} did not start within 300 s"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done = sorted(p.name for p in (killed / ".done").glob("*"))
        # the kill fell inside the stage: it was under way and had not finished (nor had the process)
        assert proc.returncode == -signal.SIGKILL, f"the run ended before the kill meant for {what}"
        assert under_way(killed) and marker not in done, f"the kill meant for {what} fell after it: done {done}"
    assert _genrm(killed).wait(timeout=600) == 0

    for f in ("candidates/test.jsonl", "candidates/verifier_train.jsonl", "verifier_data/genrm_cot.jsonl"):
        assert _rows(killed / f) == _rows(clean / f), f
    for m in ("orm", "genrm_cot"):
        a, b = _rows(killed / "scores" / f"{m}.jsonl"), _rows(clean / "scores" / f"{m}.jsonl")
        assert [r["problem_id"] for r in a] == [r["problem_id"] for r in b]
        for ra, rb in zip(a, b):
            assert [s["score"] for s in ra["scores"]] == pytest.approx([s["score"] for s in rb["scores"]], abs=1e-4)
        log_a = json.loads((killed / "models" / m / "train_log.json").read_text())
        log_b = json.loads((clean / "models" / m / "train_log.json").read_text())
        assert log_a["steps"] == log_b["steps"] == 24
        assert [s for s, _ in log_a["losses"]] == [s for s, _ in log_b["losses"]]  # one continuous history
        assert [x for _, x in log_a["losses"]] == pytest.approx([x for _, x in log_b["losses"]], rel=1e-3)
        assert not (killed / "models" / f"{m}.checkpoints").exists()  # finished trainings drop their checkpoints
    res_a = json.loads((killed / "results.json").read_text())["methods"]
    res_b = json.loads((clean / "results.json").read_text())["methods"]
    assert res_a.keys() == res_b.keys()
    assert _numbers(res_a) == pytest.approx(_numbers(res_b), abs=1e-6)


def _numbers(tree, path="") -> dict:
    """Every number in a JSON tree by its path (values of a results file, compared one by one)."""
    if isinstance(tree, dict):
        return {k: v for key, sub in tree.items() for k, v in _numbers(sub, f"{path}/{key}").items()}
    if isinstance(tree, list):
        return {k: v for i, sub in enumerate(tree) for k, v in _numbers(sub, f"{path}[{i}]").items()}
    return {path: float(tree)} if isinstance(tree, (int, float)) and not isinstance(tree, bool) else {}
