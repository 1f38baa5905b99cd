import os

import pytest
import torch

os.environ.setdefault("GENRM_QUIET", "1")
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture
def nano():
    """A freshly initialised nano Llama and its char tokenizer (built here, no download)."""
    from genrm.model import build_tiny_model

    return build_tiny_model("nano", seed=0)
