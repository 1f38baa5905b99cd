import os
import socket
import subprocess
import sys
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real server process on loopback, serving a tiny Llama through the OpenAI completions API."""
    from hf_models import save_tiny_lm

    model_dir = save_tiny_lm(tmp_path_factory.mktemp("served") / "model")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "openai_server.py"), str(model_dir), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/v1/models", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode())
    yield url, model_dir
    proc.terminate()
    proc.wait(10)
