import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import torch
from hypothesis import settings

os.environ.setdefault("GENRM_QUIET", "1")
pytest_plugins = ["skipcheck", "pytester"]  # GENRM_CHECK_SKIPS=1: a skip not in tests/expected_skips.txt fails the run

# CI (GENRM_CI=1) runs Hypothesis derandomised: the same examples every run, so a failure reproduces
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("GENRM_CI") == "1":
    settings.load_profile("ci")
if not os.environ.get("OMP_NUM_THREADS"):  # an explicit thread count (a machine shared with other work) wins
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture
def nano():
    """A freshly initialised nano Llama and its char tokenizer (built here, no download)."""
    from genrm.models.model import build_tiny_model

    return build_tiny_model("nano", seed=0)


@pytest.fixture(scope="session")
def micro_run(tmp_path_factory):
    """A micro end-to-end run (every stage, nano models): trained ORM, GenRM and GenRM-CoT verifiers."""
    from genrm import pipeline
    from genrm.core.config import preset_config

    run = pipeline.Run.create(tmp_path_factory.mktemp("run"), preset_config("micro"))
    results = pipeline.run_all(run)
    return run, results


@pytest.fixture(scope="session")
def run_items(micro_run):
    """(question, solution) pairs the micro run's generator really sampled for its test problems."""
    from genrm.data.candidates import load_candidates

    run, _ = micro_run
    problems = run.problems("test")
    cands = load_candidates(run.file("candidates", "test.jsonl"), problems)
    return [(p.question, c.text) for p in problems for c in cands[p.id]]


@pytest.fixture(scope="session")
def genrm_reward(micro_run):
    """The micro run's trained GenRM as a `RewardModel`."""
    from genrm.serving.reward import RewardModel

    return RewardModel.load(micro_run[0].path, "genrm")


def unused_port() -> socket.socket:
    """A loopback socket bound to a port the OS picked and not listening: connections to it are refused for
    as long as the caller holds it (no other process can take the port meanwhile)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real server process on loopback, serving a tiny Llama through the OpenAI completions API."""
    from genrm.models.testing import save_tiny_lm

    model_dir = save_tiny_lm(tmp_path_factory.mktemp("served") / "model")
    proc, url = spawn_server([str(Path(__file__).parent / "openai_server.py"), str(model_dir), "0"])
    yield url, model_dir
    proc.terminate()
    proc.wait(10)


@contextmanager
def serving(app, log_level: str = "warning"):
    """Run an ASGI app with uvicorn in a thread on a loopback port the OS picked (real HTTP); yields its URL."""
    import uvicorn

    from genrm.serving.server import bind_socket, socket_url

    sock = bind_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:  # a server that cannot start fails the test, never hangs it
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start within 30 s"
        time.sleep(0.02)
    try:
        yield socket_url(sock)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def spawn_server(args: list[str], ready: str = "/v1/models", timeout_s: float = 120.0):
    """Start `python ARGS` (a server told to take port 0, which prints the address it got as
    `... at http://host:port`) and wait until GET `ready` there answers 200."""
    log = tempfile.TemporaryFile()  # not a pipe: a chatty server must never block on a full one
    proc = subprocess.Popen([sys.executable, *args], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
    url = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"{' '.join(args)} exited with {proc.returncode}:\n" + log.read().decode("replace"))
        if url is None:
            log.seek(0)
            found = re.search(r" at (http://[^\s]+:\d+)", log.read().decode("utf-8", "replace"))
            url = found and found.group(1)
        else:
            try:
                if httpx.get(f"{url}{ready}", timeout=1).status_code == 200:
                    return proc, url
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"{' '.join(args)} did not answer on {url or 'its port'}{ready} within {timeout_s:g} s")
