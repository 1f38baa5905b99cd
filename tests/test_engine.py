import pytest

import by_hand
from genrm.core.errors import GenrmError
from genrm.engines import TransformersEngine
from genrm.models.model import build_tiny_model, char_tokenizer, load_model


def test_char_tokenizer_round_trip():
    tok = char_tokenizer()
    text = "Q: last letters of tag boj\nA: tag -> g. Answer: gj"
    ids = tok(text).input_ids
    assert ids[0] == tok.bos_token_id and len(ids) == len(text) + 1
    assert tok.decode(ids, skip_special_tokens=True) == text


def test_generate_and_choice_probs(nano):
    model, tok = nano
    engine = TransformersEngine(model, tok, batch_size=3)
    outs = engine.generate(["Q: a\nA:", "Q: longer prompt\nA:"], n=4, max_new_tokens=8, temperature=1.0, seed=1)
    assert [len(o) for o in outs] == [4, 4]
    assert outs == engine.generate(["Q: a\nA:", "Q: longer prompt\nA:"], n=4, max_new_tokens=8, temperature=1.0, seed=1)
    prompts = ["x", "a longer prompt"]
    probs = engine.choice_probs(prompts, (" Yes", " No"))
    # by hand: softmax of the logits after the prompt and the shared " ", read at Y and N (bf16 autocast: 2%)
    assert [list(p) for p in probs] == [pytest.approx(by_hand.choice_probs(model, tok, p), rel=2e-2) for p in prompts]
    prefix, targets = engine.decision_ids((" Yes", " No"))
    assert len(prefix) == 1 and targets == [tok.convert_tokens_to_ids("Y"), tok.convert_tokens_to_ids("N")]


def test_choice_probs_equal_unbatched(nano):
    """Right padding in a batch must not change a prompt's probabilities."""
    model, tok = nano
    engine = TransformersEngine(model, tok, batch_size=8)
    prompts = ["short", "a much longer prompt than the first", "mid length"]
    batched = engine.choice_probs(prompts)
    single = [engine.choice_probs([p])[0] for p in prompts]
    for b, s in zip(batched, single):
        assert b == pytest.approx(s, rel=2e-2, abs=1e-4)


def test_load_model_errors(tmp_path):
    with pytest.raises(GenrmError, match="no config.json"):
        load_model(tmp_path)
    model, tok = build_tiny_model("nano")
    model.config.save_pretrained(tmp_path)
    with pytest.raises(GenrmError, match="no weights"):
        load_model(tmp_path)
    with pytest.raises(GenrmError, match="unknown model size"):
        build_tiny_model("huge")


def test_http_client_and_openai_engine_do_not_import_torch():
    """A trainer that talks to `genrm serve` (or genrm to an OpenAI-compatible server) needs no torch."""
    import subprocess
    import sys

    code = (
        "import sys, genrm, genrm.serving.client, genrm.core.config, genrm.engines.openai, genrm.integrations.guard; "
        "from genrm.engines import make_engine; make_engine('openai:http://127.0.0.1:9/v1#m'); "
        "heavy = [m for m in ('torch', 'transformers') if m in sys.modules]; "
        "assert not heavy, heavy; assert callable(genrm.get_task)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_engine_registry_routes_prefixes_and_refuses_silent_overwrite():
    from genrm.core.errors import GenrmError
    from genrm.engines import make_engine, register_engine

    made = []

    def factory(spec, **opts):
        made.append((spec, opts["batch_size"]))
        return "an engine"

    register_engine("toy:", factory)
    try:
        assert make_engine("toy:model-a", batch_size=3) == "an engine" and made == [("toy:model-a", 3)]
        with pytest.raises(GenrmError, match="already registered"):
            register_engine("toy:", factory)
        register_engine("toy:", lambda spec, **o: "replaced", replace=True)
        assert make_engine("toy:x") == "replaced"
    finally:
        from genrm.engines import _REGISTRY

        _REGISTRY.pop("toy:", None)


def test_build_verifier_names_bad_methods_and_resolves_the_rationale_cap(nano, tmp_path):
    from genrm.core.errors import GenrmError
    from genrm.core.formats import VerifyFormat
    from genrm.tasks import get_task
    from genrm.verifiers import CoTVerifier, build_verifier

    with pytest.raises(GenrmError, match="unknown verifier method 'cot'"):
        build_verifier("cot", "some/model")
    with pytest.raises(GenrmError, match="scalar-head model folder"):
        build_verifier("orm", "http://127.0.0.1:9/v1")
    model, tok = nano
    model.save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    step_fmt = get_task("last_letter").verify_format
    v = build_verifier("genrm_cot", str(tmp_path / "m"), step_fmt, k=3)
    assert isinstance(v, CoTVerifier) and v.k == 3 and v.max_new_tokens == step_fmt.max_rationale_tokens == 128
    assert build_verifier("judge", str(tmp_path / "m"), VerifyFormat()).max_new_tokens == 256
    assert build_verifier("genrm_cot", str(tmp_path / "m"), step_fmt, max_new_tokens=7).max_new_tokens == 7
