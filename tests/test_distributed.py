"""`genrm train-verifier` under `accelerate launch` with two processes (gloo on this CPU; the same code paths as DDP
on GPUs): for every verifier kind the model is saved whole by the main process, the steps and the passes over the
rows count both processes, the ORM's loss is not doubled, time-based decisions (checkpoints, the time cap) are
the same on both ranks, a failure on either rank fails the command, and a killed run resumes to the losses of an
unbroken one. `--multi_gpu` is what starts two CPU processes (`--cpu --num_processes 2` starts one)."""

import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import unused_port

KINDS = ("orm", "dpo", "genrm", "genrm_cot")
EPOCHS, BATCH, WORLD = 2, 4, 2


def _port() -> int:
    with unused_port() as sock:  # closed again here: the launcher's main process binds it
        return sock.getsockname()[1]


def _launch(run: Path, kind: str, processes: int = WORLD, env: dict | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "accelerate.commands.launch"]
    if processes > 1:
        cmd += ["--multi_gpu", "--num_processes", str(processes), "--main_process_port", str(_port())]
    else:
        cmd += ["--cpu", "--num_processes", "1"]
    cmd += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    cmd += ["-m", "genrm", "train-verifier", str(run), kind]
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "GENRM_QUIET": "1", **(env or {})}
    return subprocess.Popen(cmd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _kill_all(proc: subprocess.Popen) -> None:
    """SIGKILL the launcher and every process under it (torch's elastic agent starts each rank in a session of its
    own, so killing the launcher's process group would leave the ranks running)."""
    import psutil

    tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    for p in tree:
        p.kill()
    psutil.wait_procs(tree, timeout=30)


def _train(run: Path, kind: str, processes: int = WORLD, env: dict | None = None, timeout: float = 240) -> tuple:
    proc = _launch(run, kind, processes, env)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:  # a desynchronised collective hangs: that is a failure, not a wait
        _kill_all(proc)
        out, _ = proc.communicate()
        pytest.fail(f"{kind}: {processes} processes did not finish within {timeout} s (hung?)\n{out[-3000:]}")
    return proc.returncode, out


def _configure(run: Path, **settings) -> None:
    header = json.loads((run / "run.json").read_text())
    header["config"].update(settings)
    (run / "run.json").write_text(json.dumps(header))


def _copy(run: Path, to: Path, drop: str = "") -> Path:
    """A copy of the run folder without the `drop` verifier's model, checkpoints and stage marker."""
    shutil.copytree(run, to)
    for folder in (to / "models").glob(f"{drop}*") if drop else ():
        shutil.rmtree(folder)
    (to / ".done" / f"train_{drop}").unlink(missing_ok=True)
    return to


def _rows(run: Path, kind: str) -> int:
    return sum(1 for line in (run / "verifier_data" / f"{kind}.jsonl").read_text().splitlines() if line.strip())


@pytest.fixture(scope="module")
def prepared(micro_run, tmp_path_factory):
    """The micro run up to its verifier data (no trained verifier), set to train 2 epochs of 4 rows per process
    and checkpoint by time about every step (0.06 s)."""
    run, _ = micro_run
    out = tmp_path_factory.mktemp("ddp") / "run"
    shutil.copytree(run.path, out, ignore=shutil.ignore_patterns(*KINDS, "*.checkpoints", "dev", "scores"))
    for marker in (out / ".done").glob("*"):
        if marker.name.startswith(("train_", "score_", "evaluate")):
            marker.unlink()
    _configure(out, ver_epochs=EPOCHS, ver_batch_size=BATCH, checkpoint_steps=0, checkpoint_minutes=0.001)
    return out


AUDIT = """
import os, sys
if os.environ.get("RANK", "0") != "0":
    _root, _log = os.environ["GENRM_AUDIT_ROOT"], os.environ["GENRM_AUDIT_LOG"]
    _writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def _audit(event, args):
        if event == "open":
            path, mode, flags = args
            if not (mode and any(c in mode for c in "wax+")) and not (mode is None and flags & _writes):
                return
        elif event in ("os.rename", "os.remove", "os.rmdir", "os.mkdir", "shutil.rmtree", "shutil.move"):
            path = args[0]
        else:
            return
        path = os.path.abspath(os.fsdecode(path)) if isinstance(path, (str, bytes, os.PathLike)) else ""
        if path.startswith(_root):
            with open(_log, "a") as f:
                f.write(event + " " + path + "\\n")

    sys.addaudithook(_audit)
"""


@pytest.fixture(scope="module")
def audited(tmp_path_factory, prepared):
    """Environment for the launcher that records what ranks other than 0 write, remove or rename in the run folder
    (a Python audit hook installed by `sitecustomize`): deterministic, where the race it prevents is not."""
    folder = tmp_path_factory.mktemp("audit")
    (folder / "sitecustomize.py").write_text(AUDIT)
    log = folder / "writes.txt"
    env = {"PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])}
    return {**env, "GENRM_AUDIT_ROOT": str(prepared), "GENRM_AUDIT_LOG": str(log)}, log


def _model_in_place(folder: Path) -> None:
    from transformers import AutoConfig

    assert (folder / "config.json").exists() or (folder / "adapter_config.json").exists(), f"{folder}: no model"
    assert any(folder.glob("*.safetensors")), f"{folder}: no weights"
    AutoConfig.from_pretrained(folder)  # a whole folder: the config reads back
    assert not folder.with_name(folder.name + ".tmp").exists()
    assert not folder.with_name(folder.name + ".checkpoints").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_every_verifier_trains_and_saves_under_two_processes(prepared, audited, kind):
    """One writer, counts that know the world size, the stage marked done (so `genrm run` does not retrain)."""
    from genrm import pipeline
    from genrm.pipeline.runner import stages

    for _ in range(3 if kind == "genrm" else 1):  # the save race showed in 1 of 4 runs: repeat one kind
        env, writes = audited
        rc, out = _train(prepared, kind, env=env)
        assert rc == 0, out[-3000:]
        # rank 1 wrote only what the Trainer keeps per process in a checkpoint (its random state, for resuming)
        seen = writes.read_text().splitlines() if writes.exists() else []
        own = re.compile(r"(open|os.mkdir) .*\.checkpoints/checkpoint-\d+(/rng_state_1\.pth)?$")
        assert all(own.fullmatch(w) for w in seen), [w for w in seen if not own.fullmatch(w)]
        folder = prepared / "models" / kind
        _model_in_place(folder)
        log = json.loads((folder / "train_log.json").read_text())
        rows = _rows(prepared, kind)
        # by hand: E passes over the rows, each step taking BATCH rows on each of the WORLD processes
        assert log["world_size"] == WORLD
        assert log["steps"] == math.ceil(EPOCHS * rows / (BATCH * WORLD)), (log["steps"], rows)
        # the passes the training made (counted from the tokens it trained on where the Trainer counts them)
        assert abs(log["epochs"] - EPOCHS) <= BATCH * WORLD / rows, log["epochs"]
        assert (folder / "README.md").exists()  # the card, written once
        assert f"| {rows} | {log['steps']} |" in (folder / "README.md").read_text()
    assert (prepared / ".done" / f"train_{kind}").exists()
    run = pipeline.Run(prepared)
    assert f"train_{kind}" not in [m for m, _ in stages(run) if not run.done(m)]


def _first_loss(run: Path, kind: str) -> float:
    return json.loads((run / "models" / kind / "train_log.json").read_text())["losses"][0][1]


def test_orm_first_loss_equals_the_single_process_one(prepared, tmp_path):
    """The same global batch (8 rows: 4 on each of two processes, or 8 in one): a fresh head gives a loss near
    ln 2 either way. Transformers multiplies a loss that takes `num_items_in_batch` by the number of processes, so a
    loss that ignored it was doubled (1.41 vs 0.71)."""
    single = _copy(prepared, tmp_path / "single", drop="orm")
    _configure(single, ver_batch_size=BATCH * WORLD)
    rc, out = _train(single, "orm", processes=1)
    assert rc == 0, out[-3000:]
    if not (prepared / "models" / "orm").exists():
        assert _train(prepared, "orm")[0] == 0
    one, two = _first_loss(single, "orm"), _first_loss(prepared, "orm")
    assert one == pytest.approx(math.log(2), rel=0.1)
    assert two == pytest.approx(one, rel=0.05), (one, two)


def test_time_cap_stops_both_processes_at_the_same_step(prepared, tmp_path):
    run = _copy(prepared, tmp_path / "capped", drop="genrm")
    _configure(run, ver_epochs=0, ver_steps=100_000, ver_max_seconds=2.0)
    rc, out = _train(run, "genrm")
    assert rc == 0, out[-3000:]
    log = json.loads((run / "models" / "genrm" / "train_log.json").read_text())
    assert 1 <= log["steps"] < 100_000


def test_a_failure_on_one_rank_fails_the_command(prepared, tmp_path):
    """Rank 1 raises while saving (planted through `sitecustomize`): the launcher exits non-zero and the stage is
    not marked done."""
    run = _copy(prepared, tmp_path / "failing", drop="genrm")
    plant = tmp_path / "plant"
    plant.mkdir()
    (plant / "sitecustomize.py").write_text(
        "import os\n"
        "if os.environ.get('RANK') == '1':\n"
        "    import transformers\n"
        "    def fail(self, *a, **k):\n"
        "        raise RuntimeError('planted failure on rank 1')\n"
        "    transformers.Trainer.save_model = fail\n"
    )
    path = os.pathsep.join([str(plant), os.environ.get("PYTHONPATH", "")])
    rc, out = _train(run, "genrm", env={"PYTHONPATH": path})
    assert rc != 0 and "planted failure on rank 1" in out
    assert not (run / ".done" / "train_genrm").exists()


def test_resume_under_two_processes_equals_the_unbroken_run(prepared, tmp_path):
    """Killed (the launcher and both ranks, SIGKILL) after a time-based checkpoint, then launched again: the losses
    of the whole training equal an unbroken two-process run's."""
    unbroken, killed = tmp_path / "unbroken", tmp_path / "killed"
    for run in (unbroken, killed):
        _copy(prepared, run, drop="genrm")
        _configure(run, ver_epochs=0, ver_steps=40, checkpoint_minutes=0.002)
    assert _train(unbroken, "genrm")[0] == 0
    proc = _launch(killed, "genrm")
    ckpt = killed / "models" / "genrm.checkpoints"
    deadline = time.monotonic() + 240
    while not any(ckpt.glob("checkpoint-*/trainer_state.json")):
        assert proc.poll() is None, "the training ended before a checkpoint"
        assert time.monotonic() < deadline, "no checkpoint within 240 s"
        time.sleep(0.01)
    _kill_all(proc)
    proc.communicate()
    assert not (killed / "models" / "genrm" / "train_log.json").exists()  # killed before the end
    rc, out = _train(killed, "genrm")
    assert rc == 0, out[-3000:]

    def log(run: Path) -> dict:
        return json.loads((run / "models" / "genrm" / "train_log.json").read_text())

    resumed = log(killed)["resumed_from"]
    assert resumed and "checkpoint-" in resumed
    # the weights it ends with are the unbroken run's
    from safetensors.torch import load_file

    a, b = (load_file(run / "models" / "genrm" / "model.safetensors") for run in (unbroken, killed))
    assert a.keys() == b.keys()
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-5
    # and so are the losses logged after the checkpoint (Transformers averages the first logged window after a
    # resume over the steps run since it, not over the window)
    first_full = int(resumed.rsplit("-", 1)[1]) + 2 * log(unbroken)["losses"][0][0]  # logged every 2 steps here
    after, expected = ([(s, x) for s, x in log(run)["losses"] if s >= first_full] for run in (killed, unbroken))
    assert after and [s for s, _ in after] == [s for s, _ in expected]
    assert [x for _, x in after] == pytest.approx([x for _, x in expected], rel=1e-4)


def test_genrm_run_under_a_launcher_is_refused(prepared, monkeypatch):
    from genrm import pipeline
    from genrm.core.errors import GenrmError

    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(GenrmError, match="train-verifier"):
        pipeline.run_all(pipeline.Run(prepared))
