"""Sampling and scoring spread over two worker processes (`--workers 2`) write the files one process writes, byte
for byte; a failing worker fails the command with its log, keeps what the others finished, and a rerun (with
another number of workers) completes to the same files."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from genrm.core.errors import GenrmError
from genrm.pipeline.shards import merge_shards, parse_shard, shard_file


def _genrm(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    # one thread per process, as each of two workers gets on two cores: CPU float sums depend on the thread count
    full = {**os.environ, "OMP_NUM_THREADS": "1", "GENRM_QUIET": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "genrm", *args], env=full, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def base(micro_run, tmp_path_factory):
    """The micro run's trained verifiers with 66 test problems (every 1-word problem the task has): two sampling
    chunks of 64 and three scoring chunks of 32, so both workers get work."""
    from genrm import pipeline

    run, _ = micro_run
    out = tmp_path_factory.mktemp("shards") / "base"
    shutil.copytree(run.path, out, ignore=shutil.ignore_patterns("*.checkpoints", "dev"))
    header = json.loads((out / "run.json").read_text())
    header["config"]["n_test"] = 130
    (out / "run.json").write_text(json.dumps(header))
    pipeline.make_problems(pipeline.Run(out))
    for f in ("samples/test.jsonl", "candidates/test.jsonl", "scores"):
        (out / f).unlink() if (out / f).is_file() else shutil.rmtree(out / f, ignore_errors=True)
    for marker in (out / ".done").glob("*"):
        if marker.name in ("sample_test", "label_test") or marker.name.startswith(("score_", "evaluate")):
            marker.unlink()
    assert len((out / "problems" / "test.jsonl").read_text().splitlines()) > 64
    return out


def _stage(run: Path, *workers: str) -> None:
    for args in (
        ["sample", str(run)],
        ["label", str(run)],
        ["score", str(run), "genrm_cot"],
        ["score", str(run), "orm"],
    ):
        done = _genrm(*args, *(workers if args[0] != "label" else ()))
        assert done.returncode == 0, done.stderr[-3000:]


def test_two_workers_write_what_one_process_writes(base, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    shutil.copytree(base, one)
    shutil.copytree(base, two)
    _stage(one)
    _stage(two, "--workers", "2")
    for f in ("samples/test.jsonl", "scores/genrm_cot.jsonl", "scores/orm.jsonl"):
        assert (two / f).read_bytes() == (one / f).read_bytes(), f
    ids = [json.loads(x)["id"] for x in (two / "problems" / "test.jsonl").read_text().splitlines()]
    assert [json.loads(x)["problem_id"] for x in (two / "scores" / "orm.jsonl").read_text().splitlines()] == ids
    logs = sorted(p.name for p in (two / "logs").glob("*.log"))
    assert "scores-orm.worker-1-of-2.log" in logs and "samples-test.worker-0-of-2.log" in logs
    assert not list(two.glob("**/*.shard-*"))  # merged and removed


def test_a_failing_worker_fails_the_stage_a_rerun_completes_it_and_shares_merge(base, tmp_path):
    ref, run = tmp_path / "ref", tmp_path / "run"
    shutil.copytree(base, ref)
    for args in (["sample", str(ref)], ["label", str(ref)], ["score", str(ref), "genrm"]):
        assert _genrm(*args).returncode == 0
    shutil.copytree(ref, run)
    shutil.rmtree(run / "scores")
    plant = tmp_path / "plant"
    plant.mkdir()
    (plant / "sitecustomize.py").write_text(
        "import sys\n"
        "if '1/2' in sys.argv:\n"
        "    import genrm.pipeline.scoring as scoring\n"
        "    def fail(*a, **k):\n"
        "        raise RuntimeError('planted failure in worker 1')\n"
        "    scoring.make_verifier = fail\n"
    )
    failed = _genrm("score", str(run), "genrm", "--workers", "2", env={"PYTHONPATH": str(plant)})
    assert failed.returncode != 0
    assert "worker(s) 1 of 2 failed" in failed.stderr and "planted failure in worker 1" in failed.stderr
    kept = [json.loads(x)["problem_id"] for x in (run / "scores" / "genrm.jsonl").read_text().splitlines()]
    ids = [json.loads(x)["id"] for x in (run / "problems" / "test.jsonl").read_text().splitlines()]
    assert kept == ids[:32] + ids[64:]  # worker 0's chunks (0 and 2), in problem order
    again = _genrm("score", str(run), "genrm")  # one process now: it does worker 1's chunk (appended)
    assert again.returncode == 0, again.stderr[-3000:]

    def rows(r: Path) -> dict:
        return {
            (x := json.loads(line))["problem_id"]: x
            for line in (r / "scores" / "genrm.jsonl").read_text().split("\n")[:-1]
        }

    assert rows(run) == rows(ref)

    # by hand on "two machines": each share on its own, then the command without --shard merges them
    by_hand = tmp_path / "by_hand"
    shutil.copytree(ref, by_hand)
    shutil.rmtree(by_hand / "scores")
    for share in ("1/2", "0/2"):
        assert _genrm("score", str(by_hand), "genrm", "--shard", share).returncode == 0
    assert sorted(p.name for p in (by_hand / "scores").iterdir()) == [
        "genrm.jsonl.shard-0-of-2",
        "genrm.jsonl.shard-1-of-2",
    ]
    merged = _genrm("score", str(by_hand), "genrm")
    assert merged.returncode == 0 and "scored 0 problems" in merged.stderr, merged.stderr[-2000:]
    assert (by_hand / "scores" / "genrm.jsonl").read_bytes() == (ref / "scores" / "genrm.jsonl").read_bytes()


def test_merge_keeps_problem_order_and_prefers_the_shards_rows(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"problem_id": "b", "v": 0}\n')
    shard_file(path, (1, 2)).write_text('{"problem_id": "c", "v": 1}\n{"problem_id": "b", "v": 1}\n')
    shard_file(path, (0, 2)).write_text('{"problem_id": "a", "v": 1}\n{"problem_id": "d"')  # torn last line
    taken = merge_shards(path, ["a", "b", "c", "d"], lambda r: r["problem_id"], ("problem_id",))
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    assert taken == 3 and rows == [{"problem_id": p, "v": 1} for p in "abc"]
    assert not list(tmp_path.glob("*.shard-*"))


@pytest.mark.parametrize("bad", ["2/2", "1", "a/b", "-1/2"])
def test_a_bad_shard_is_a_clear_error(bad):
    with pytest.raises(GenrmError, match="--shard"):
        parse_shard(bad)
