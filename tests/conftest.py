import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
import torch

os.environ.setdefault("GENRM_QUIET", "1")
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture
def nano():
    """A freshly initialised nano Llama and its char tokenizer (built here, no download)."""
    from genrm.model import build_tiny_model

    return build_tiny_model("nano", seed=0)


@pytest.fixture(scope="session")
def micro_run(tmp_path_factory):
    """A micro end-to-end run (every stage, nano models): trained ORM, GenRM and GenRM-CoT verifiers."""
    from genrm import pipeline
    from genrm.config import preset_config

    run = pipeline.Run.create(tmp_path_factory.mktemp("run"), preset_config("micro"))
    results = pipeline.run_all(run)
    return run, results


@pytest.fixture(scope="session")
def run_items(micro_run):
    """(question, solution) pairs the micro run's generator really sampled for its test problems."""
    from genrm.candidates import load_candidates

    run, _ = micro_run
    problems = run.problems("test")
    cands = load_candidates(run.file("candidates", "test.jsonl"), problems)
    return [(p.question, c.text) for p in problems for c in cands[p.id]]


@pytest.fixture(scope="session")
def genrm_reward(micro_run):
    """The micro run's trained GenRM as a `RewardModel`."""
    from genrm.reward import RewardModel

    return RewardModel.load(micro_run[0].path, "genrm")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real server process on loopback, serving a tiny Llama through the OpenAI completions API."""
    from genrm.testing import save_tiny_lm

    model_dir = save_tiny_lm(tmp_path_factory.mktemp("served") / "model")
    port = free_port()
    proc, url = spawn_server([str(Path(__file__).parent / "openai_server.py"), str(model_dir), str(port)], port)
    yield url, model_dir
    proc.terminate()
    proc.wait(10)


def spawn_server(args: list[str], port: int, ready: str = "/v1/models"):
    """Start `python ARGS` and wait until GET `ready` answers 200 on loopback `port`."""
    log = tempfile.TemporaryFile()  # not a pipe: a chatty server must never block on a full one
    proc = subprocess.Popen([sys.executable, *args], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}{ready}", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(log.read().decode(errors="replace"))
    proc.terminate()
    raise RuntimeError(f"{' '.join(args)} did not answer on {url}{ready} within a minute")
