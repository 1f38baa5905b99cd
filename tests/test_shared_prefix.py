"""K rationales from one shared prefill equal the naive path given the same random stream."""

import pytest

from genrm.core.formats import VerifyFormat
from genrm.engines import TransformersEngine
from genrm.models.testing import save_tiny_lm
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
    from genrm.models.model import load_model

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


def _bigram_model():
    """A Llama whose next token depends only on the current one (attention and MLP outputs zeroed, one-hot
    embeddings): rationales of different lengths that run through the decision line, greedily, and a p(Yes)
    after "?" worked out by hand from the head's weights."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from genrm.models.model import word_tokenizer

    tok = word_tokenizer(["tag"])
    v, d = len(tok), 152
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=v,
            hidden_size=d,
            intermediate_size=8,
            num_hidden_layers=1,
            num_attention_heads=4,
            num_key_value_heads=4,
            pad_token_id=tok.pad_token_id,
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
            tie_word_embeddings=False,
        )
    )
    ids = lambda text: tok(text, add_special_tokens=False).input_ids  # noqa: E731
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        model.model.embed_tokens.weight.zero_()
        model.model.embed_tokens.weight[:, :v] = torch.eye(v)
        head = model.lm_head.weight
        head.zero_()
        chain = ids("axyz\nVerification: Is the answer correct (Yes/No)?")
        for a, b in zip(chain, chain[1:]):
            head[b, a] = 10.0
        head[ids("\n")[0], ids("b")[0]] = 10.0  # "b" goes straight to the decision line: the shortest rationale
        q, yes, no = ids("?")[0], ids(" Yes")[0], ids(" No")[0]
        head[yes, q], head[no, q] = 0.5, 0.45
    h = torch.zeros(d)
    h[q] = 1.0
    h = h / torch.sqrt((h**2).mean() + model.config.rms_norm_eps)  # the final RMSNorm (weight 1)
    logits = head.detach() @ h
    return model.eval(), tok, (logits.softmax(-1)[yes].item(), logits.softmax(-1)[no].item())


def test_rationales_that_end_at_the_decision_line_read_p_yes_after_it():
    """Rationales stopped at the decision line (dataset tasks' stop), of different lengths in one batch: each
    row's p(Yes) is read after its own "?", as the naive path and the hand computation give, never after a pad
    (the bug: a shorter row with nothing left to feed was fed the pad token)."""
    model, tok, (p_yes, p_no) = _bigram_model()
    engine = TransformersEngine(model, tok, batch_size=64)
    fmt = VerifyFormat()  # rationale_stop: the decision line
    prompts = ["Q: 1\nA: 1\nb", "Q: 2\nA: 2\na", "Q: 3\nA: 3\nb"]
    texts, probs = _check(engine, prompts, fmt, k=2, max_new_tokens=24, temperature=0.0, seed=0)
    assert [t[0] for t in texts] == ["\n", "xyz\n", "\n"]  # two lengths in one batch, both ending at the line
    assert 0.3 < p_yes < 0.9  # not saturated: a pad's uniform next token (1/149) would be far off
    for row in probs:
        for pair in row:
            assert pair == pytest.approx([p_yes, p_no], rel=1e-3)
