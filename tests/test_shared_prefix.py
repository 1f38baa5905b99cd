"""K rationales from one shared prefill equal the naive path given the same random stream."""

import pytest

from genrm.engines import TransformersEngine
from genrm.formats import VerifyFormat
from genrm.testing import save_tiny_lm
from genrm.verifiers import CoTVerifier


def _naive(engine, prompts, k, fmt, **kw):
    texts = engine.generate(prompts, n=k, stop=fmt.rationale_stop, **kw)
    qs = [p for p, ts in zip(prompts, texts) for _ in ts]
    probs = engine.choice_probs(qs, (fmt.yes, fmt.no), prefixes=[fmt.decision_prefix(t) for ts in texts for t in ts])
    return texts, [probs[i * k : (i + 1) * k] for i in range(len(prompts))]


def _check(engine, prompts, fmt, k=4, **kw):
    naive = _naive(engine, prompts, k, fmt, **kw)
    shared = engine.sample_and_decide(prompts, k, fmt.decision_prefix, (fmt.yes, fmt.no), stop=fmt.rationale_stop, **kw)
    assert shared[0] == naive[0]
    for a, b in zip(shared[1], naive[1]):
        for x, y in zip(a, b):
            assert x == pytest.approx(y, rel=1e-2, abs=1e-4)  # bf16 autocast: summation order differs
    return shared


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_char_model_one_line_rationales(nano, temperature):
    """Built-in char model, one-line rationales stopped at a newline; prompts of equal length (same batches)."""
    model, tok = nano
    engine = TransformersEngine(model, tok, batch_size=64)
    fmt = VerifyFormat(rationale_stop=("\n",))
    prompts = [f"Q: w{i}\nA: x -> {i}. Answer: {i}\nVerification: Let's verify step by step.\n" for i in range(6)]
    texts, probs = _check(engine, prompts, fmt, max_new_tokens=12, temperature=temperature, seed=3)
    assert all(len(t) == 4 and len(p) == 4 for t, p in zip(texts, probs))


def test_bpe_model_multi_line_rationales_with_stop_string(tmp_path):
    """A BPE model, rationales cut at the decision line (a multi-token stop string), left padding."""
    from genrm.model import load_model

    model, tok = load_model(save_tiny_lm(tmp_path / "m", arch="qwen2"))
    engine = TransformersEngine(model, tok, batch_size=64)
    fmt = VerifyFormat()
    prompts = ["Q: Tom has 3 apples. A: 3 + 4 = 7.\nVerification: Let's verify step by step.\n"] * 3
    _check(engine, prompts, fmt, max_new_tokens=10, temperature=1.0, seed=0)


def test_cot_verifier_uses_the_shared_prefix(nano):
    model, tok = nano
    engine = TransformersEngine(model, tok, batch_size=64)
    fmt = VerifyFormat(rationale_stop=("\n",))
    items = [("Q: a\nA:", " a -> a. Answer: a"), ("Q: b\nA:", " b -> b. Answer: b")]
    shared = CoTVerifier(engine, k=3, fmt=fmt, max_new_tokens=8, seed=1)
    assert shared.shared_prefix  # the path is chosen, and taken: the naive path would raise here
    shared._naive = None
    fast = shared.score(items)
    naive = CoTVerifier(engine, k=3, fmt=fmt, max_new_tokens=8, seed=1, shared_prefix=False)
    naive._shared = None
    slow = naive.score(items)
    assert [r[2] for r in fast] == [r[2] for r in slow]
    assert [r[0] for r in fast] == pytest.approx([r[0] for r in slow], rel=1e-2, abs=1e-4)
