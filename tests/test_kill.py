"""A real `genrm` process killed with SIGKILL (during pretraining, sampling, verifier training and scoring), then
run again, ends with the artefacts of a run that was never interrupted."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ARGS = [
    "--preset", "micro", "--methods", "orm,genrm_cot", "--ver-steps", "24", "--gen-steps", "120",
    "--checkpoint-steps", "4", "--checkpoint-minutes", "0",
]


def _genrm(out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "genrm", "quickstart", "--out", str(out), *ARGS],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


# (what the kill interrupts, a condition on the run folder that says it is under way)
KILLS = [
    ("pretraining", lambda r: any(r.glob("models/pretrained/base.checkpoints/checkpoint-*"))),
    ("sampling", lambda r: _lines(r / "samples" / "test.jsonl") >= 1),
    ("ORM training", lambda r: any(r.glob("models/orm.checkpoints/checkpoint-*"))),
    ("GenRM-CoT training", lambda r: any(r.glob("models/genrm_cot.checkpoints/checkpoint-*"))),
    ("GenRM-CoT scoring", lambda r: _lines(r / "scores" / "genrm_cot.jsonl") >= 1),
]


def _rows(path: Path) -> list:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_kill_at_any_stage_then_rerun_equals_an_unbroken_run(tmp_path):
    clean = tmp_path / "clean"
    assert _genrm(clean).wait(timeout=600) == 0
    killed = tmp_path / "killed"
    hit = []
    for what, under_way in KILLS:
        proc = _genrm(killed)
        deadline = time.time() + 300
        while proc.poll() is None and not under_way(killed) and time.time() < deadline:
            time.sleep(0.05)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            hit.append(what)
    assert len(hit) >= 4, f"the kills fell in {hit} only"
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
