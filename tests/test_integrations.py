"""RL hooks over the micro run's trained GenRM: TRL (with a real GRPOTrainer), verl, OpenRLHF, remote."""

import importlib.util
import math
from pathlib import Path

import pytest
import torch

from conftest import spawn_server
from genrm.core.errors import GenrmError
from genrm.integrations import env_reward_model
from genrm.integrations.trl import GRPOReward
from genrm.models.testing import save_tiny_lm


@pytest.fixture(scope="module")
def items(run_items):
    return run_items[:12]


@pytest.fixture
def env_verifier(micro_run, monkeypatch):
    """GENRM_VERIFIER set as an RL launcher would; the per-process cache emptied around the test."""
    monkeypatch.setenv("GENRM_VERIFIER", str(micro_run[0].path))
    monkeypatch.setenv("GENRM_METHOD", "genrm")
    env_reward_model.cache_clear()
    yield
    env_reward_model.cache_clear()


def load_by_path(module):
    """Import a hook file the way verl and OpenRLHF do: by its path, outside any package."""
    spec = importlib.util.spec_from_file_location("custom_reward_module", module.__file__)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_trl_reward_plain_chat_and_column(micro_run, genrm_reward, items):
    run, _ = micro_run
    expected = [r[0] for r in genrm_reward.score(items)]
    reward = GRPOReward(str(run.path))  # loads the run's first trained verifier: GenRM
    assert reward.verifier.method == "genrm" and reward.__name__ == "genrm"
    prompts = [run.task.prompt_template.format(question=q) for q, _ in items]  # what the policy saw
    assert reward(prompts, [s for _, s in items]) == pytest.approx(expected, abs=1e-5)
    chat_prompts = [[{"role": "system", "content": "Be brief."}, {"role": "user", "content": q}] for q, _ in items]
    chat_completions = [[{"role": "assistant", "content": s}] for _, s in items]
    assert reward(chat_prompts, chat_completions) == pytest.approx(expected, abs=1e-5)
    parts = [[{"role": "user", "content": [{"type": "text", "text": q}]}] for q, _ in items]  # multimodal form
    assert reward(parts, chat_completions) == pytest.approx(expected, abs=1e-5)
    by_column = GRPOReward(genrm_reward, question_column="question")
    templated = [f"<|user|>{q}<|assistant|>" for q, _ in items]  # a chat-templated string: use the column
    got = by_column(templated, [s for _, s in items], question=[q for q, _ in items], answer=["x"] * len(items))
    assert got == pytest.approx(expected, abs=1e-5)
    with pytest.raises(GenrmError, match="question_column 'question' is not a dataset column; columns: answer"):
        by_column(templated, [s for _, s in items], answer=["x"] * len(items))
    capped = GRPOReward(genrm_reward, max_chars=len(items[0][0]) + len(items[0][1]))
    long = [(q, s + " " * 1000) for q, s in items[:2]]
    out = capped([items[0][0], long[0][0]], [items[0][1], long[0][1]])
    assert out[0] == pytest.approx(expected[0], abs=1e-5) and out[1] is None  # TRL skips None


def test_verl_compute_score_loaded_by_path(env_verifier, genrm_reward, items):
    import genrm.integrations.verl as verl_hook

    mod = load_by_path(verl_hook)
    expected = [r[0] for r in genrm_reward.score(items)]
    q, s = items[0]
    one = mod.compute_score(data_source="openai/gsm8k", solution_str=s, ground_truth="7", extra_info={"question": q})
    assert one == {"score": pytest.approx(expected[0], abs=1e-5), "genrm_fallback": 0.0}
    batch = mod.compute_score_batch(
        data_sources=["d"] * len(items),
        solution_strs=[s for _, s in items],
        ground_truths=[None] * len(items),
        extra_infos=[{"question": q, "index": i} for i, (q, _) in enumerate(items)],
    )
    assert [b["score"] for b in batch] == pytest.approx(expected, abs=1e-5)
    with pytest.raises(GenrmError, match=r"extra_info\[0\] has no 'question' string \(it has: index\)"):
        mod.compute_score("d", s, None, {"index": 3})


def test_openrlhf_reward_func_loaded_by_path(env_verifier, micro_run, genrm_reward, items):
    import genrm.integrations.openrlhf as openrlhf_hook

    mod = load_by_path(openrlhf_hook)
    run, _ = micro_run
    expected = torch.tensor([r[0] for r in genrm_reward.score(items)])
    prompts = [run.task.prompt_template.format(question=q) for q, _ in items]
    out = mod.reward_func([p + s for p, (_, s) in zip(prompts, items)], prompts, ["label"] * len(items))
    assert set(out) == {"rewards", "scores", "extra_logs"}
    assert torch.allclose(out["rewards"], expected, atol=1e-5) and torch.equal(out["scores"], out["rewards"])
    assert torch.equal(out["extra_logs"]["genrm_score"], out["rewards"])


def test_hooks_without_a_verifier_say_how_to_set_one(monkeypatch):
    monkeypatch.delenv("GENRM_VERIFIER", raising=False)
    env_reward_model.cache_clear()
    import genrm.integrations.openrlhf as openrlhf_hook

    with pytest.raises(GenrmError, match="set GENRM_VERIFIER"):
        openrlhf_hook.reward_func(["q a"], ["q"], None)


@pytest.mark.parametrize("hook", ["verl", "openrlhf"])
def test_hooks_loaded_by_a_framework_check_their_setup_at_import(hook, micro_run, monkeypatch, tmp_path):
    """OpenRLHF logs reward errors at INFO and carries on without a reward: the hook files, loaded by path as
    the frameworks load them, stop at import on a setup mistake (and load the verifier then). Planted bug: drop
    the `check_environment` call at the end of either file and the first `raises` fails."""
    import importlib

    module = importlib.import_module(f"genrm.integrations.{hook}")
    framework = {"verl": "verl", "openrlhf": "OpenRLHF"}[hook]
    for var in ("GENRM_VERIFIER", "GENRM_METHOD", "GENRM_REWARD", "GENRM_REWARD_TIMEOUT"):
        monkeypatch.delenv(var, raising=False)
    env_reward_model.cache_clear()
    with pytest.raises(GenrmError, match=f"genrm's {framework} reward hook: GENRM_VERIFIER is not set"):
        load_by_path(module)
    monkeypatch.setenv("GENRM_VERIFIER", str(tmp_path / "no-such-run"))
    with pytest.raises(GenrmError, match="no-such-run.*is not a run folder.*set GENRM_METHOD"):
        load_by_path(module)
    monkeypatch.setenv("GENRM_VERIFIER", str(micro_run[0].path))
    for var, value, says in [
        ("GENRM_METHOD", "genrn", "GENRM_METHOD='genrn' is not a verifier"),
        ("GENRM_REWARD", "min", "GENRM_REWARD 'min'"),
        ("GENRM_REWARD_TIMEOUT", "0", "GENRM_REWARD_TIMEOUT='0': give a positive number"),
    ]:
        with monkeypatch.context() as m:
            m.setenv(var, value)
            with pytest.raises(GenrmError, match=says):
                load_by_path(module)
    monkeypatch.setenv("GENRM_METHOD", "genrm")
    env_reward_model.cache_clear()
    try:
        assert load_by_path(module) and env_reward_model.cache_info().currsize == 1  # loaded at import
        if hook == "verl":  # verl hosting the verifier: the address comes later, from verl
            monkeypatch.setenv("GENRM_VERIFIER", "router")
            assert load_by_path(module)
    finally:
        env_reward_model.cache_clear()


def test_fallbacks_are_warnings_with_running_counts(env_verifier, micro_run, items, caplog):
    """Per-sample fallbacks are logged at WARNING with how many items got one so far, of how many."""
    import genrm.integrations.openrlhf as openrlhf_hook

    run, _ = micro_run
    openrlhf_hook._env_reward_func.cache_clear()
    prompts = [run.task.prompt_template.format(question=q) for q, _ in items[:3]]
    queries = [p + s for p, (_, s) in zip(prompts, items[:3])]
    with caplog.at_level("WARNING", logger="genrm.serving.reward"):
        openrlhf_hook.reward_func(queries, prompts, None)  # 3 items, none lost
        out = openrlhf_hook.reward_func([queries[0][4:], queries[1]], prompts[:2], None)  # the first lost its prompt
    openrlhf_hook._env_reward_func.cache_clear()
    assert float(out["rewards"][0]) == 0.0
    (record,) = [r for r in caplog.records if "fallback" in r.getMessage()]
    assert record.levelname == "WARNING"
    assert "queries [0] of this call do not contain their prompt" in record.getMessage()
    assert "1 item(s) get the fallback (1 of 5 items so far" in record.getMessage()


def test_remote_verifier_behind_genrm_serve(micro_run, genrm_reward, items, monkeypatch):
    """The same hooks against `genrm serve`: big batches split to the server's limit, token from env."""
    args = ["-m", "genrm", "serve", str(micro_run[0].path), "--port", "0", "--max-items", "5"]
    proc, url = spawn_server([*args, "--api-key", "tok"], ready="/health")
    try:
        monkeypatch.setenv("GENRM_SERVE_API_KEY", "tok")
        reward = GRPOReward(url)
        assert reward.verifier.method == "genrm" and reward.verifier.max_items == 5
        expected = [r[0] for r in genrm_reward.score(items)]
        chat = [[{"role": "user", "content": q}] for q, _ in items]
        assert reward(chat, [s for _, s in items]) == pytest.approx(expected, abs=1e-4)
        monkeypatch.setenv("GENRM_SERVE_API_KEY", "wrong")
        with pytest.raises(GenrmError, match="401"):
            GRPOReward(url)(chat[:1], [items[0][1]])
    finally:
        proc.terminate()
        proc.wait(10)


def _grpo(model, tokenizer, dataset, reward, out: Path):
    from trl import GRPOConfig, GRPOTrainer

    args = GRPOConfig(
        output_dir=str(out),
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=24,
        max_steps=2,
        learning_rate=1e-4,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        bf16=False,
        seed=0,
    )
    trainer = GRPOTrainer(
        model=model, reward_funcs=reward, args=args, train_dataset=dataset, processing_class=tokenizer
    )
    before = [p.detach().clone() for p in model.parameters()]
    trainer.train()
    moved = any(not torch.equal(a, b.detach()) for a, b in zip(before, model.parameters()))
    return [h for h in trainer.state.log_history if f"rewards/{reward.__name__}/mean" in h], moved, trainer


class Recording(GRPOReward):
    """The TRL adapter, keeping what GRPOTrainer handed it."""

    calls: list

    def __call__(self, prompts, completions, **kwargs):
        out = super().__call__(prompts, completions, **kwargs)
        self.calls = [*getattr(self, "calls", []), (prompts, completions, out)]
        return out


def test_grpo_trainer_with_genrm_reward_plain_prompts(micro_run, genrm_reward, tmp_path):
    """A real GRPOTrainer, two steps: the micro run's generator as the policy, GenRM as its reward."""
    from datasets import Dataset

    from genrm.models.model import load_model

    run, _ = micro_run
    policy, tok = load_model(run.file("models", "generator"))
    data = Dataset.from_list([{"prompt": run.task.prompt(p)} for p in run.problems("test")])
    reward = Recording(genrm_reward)
    logs, moved, _ = _grpo(policy, tok, data, reward, tmp_path)
    assert len(logs) == 2 and moved
    assert all(0.0 < h["rewards/genrm/mean"] < 1.0 and "genrm/score_mean" in h for h in logs)
    prompts, completions, out = reward.calls[0]
    assert isinstance(prompts[0], str) and len(out) == len(completions) == 4
    assert out == pytest.approx([r[0] for r in genrm_reward.score(list(zip(prompts, completions)), "auto")], abs=1e-5)


def test_grpo_trainer_with_genrm_reward_chat_prompts(micro_run, genrm_reward, tmp_path):
    """Conversational data and a chat-template policy: the reward reads the user turn and the reply."""
    from datasets import Dataset

    from genrm.models.model import load_model

    run, _ = micro_run
    policy, tok = load_model(save_tiny_lm(tmp_path / "policy", arch="qwen2"))
    data = Dataset.from_list([{"prompt": [{"role": "user", "content": p.question}]} for p in run.problems("test")])
    reward = Recording(genrm_reward)
    logs, moved, _ = _grpo(policy, tok, data, reward, tmp_path / "out")
    assert len(logs) == 2 and moved
    assert all(not math.isnan(h["rewards/genrm/mean"]) for h in logs)
    prompts, completions, out = reward.calls[0]
    assert prompts[0][-1]["role"] == "user" and completions[0][0]["role"] == "assistant"
    pairs = [(p[-1]["content"], c[0]["content"]) for p, c in zip(prompts, completions)]
    assert out == pytest.approx([r[0] for r in genrm_reward.score(pairs)], abs=1e-5)


def test_grpo_trainer_awaits_the_async_reward_and_logs_cot_votes(micro_run, tmp_path):
    """`AsyncGRPOReward` through a real GRPOTrainer (TRL awaits async reward functions on its own loop), with
    GenRM-CoT: its K votes and first rationale land in TRL's completions table (`log_extra`)."""
    from datasets import Dataset
    from trl.trainer.utils import is_async_callable

    from genrm.integrations.trl import AsyncGRPOReward
    from genrm.models.model import load_model
    from genrm.serving.reward import RewardModel

    run, _ = micro_run
    cot = RewardModel.load(run.path, "genrm_cot")
    reward = AsyncGRPOReward(cot, name="genrm_cot")
    assert is_async_callable(reward)  # TRL's own test of what it awaits
    policy, tok = load_model(run.file("models", "generator"))
    data = Dataset.from_list([{"prompt": run.task.prompt(p)} for p in run.problems("test")])
    logs, moved, trainer = _grpo(policy, tok, data, reward, tmp_path)
    assert len(logs) == 2 and moved and all(0.0 <= h["rewards/genrm_cot/mean"] <= 1.0 for h in logs)
    extra = trainer._logs["extra"]
    votes, rationales = list(extra["genrm_cot_votes"]), list(extra["genrm_cot_rationale"])
    assert len(votes) == len(rationales) == len(trainer._logs["rewards"]["genrm_cot"]) > 0
    k = run.config.k_votes
    assert all(len(v.split()) == k for v in votes) and all(isinstance(r, str) and r for r in rationales)
    # the reward is the mean of the logged votes (to their printed precision)
    for v, r in zip(votes, trainer._logs["rewards"]["genrm_cot"]):
        assert r == pytest.approx(sum(map(float, v.split())) / k, abs=0.01)


def test_export_verl_writes_the_fields_verl_reads(micro_run, tmp_path):
    """`genrm export verl`: one row per problem with what verl's RLHFDataset and reward managers read
    (`data_source`, `prompt` messages, `reward_model.ground_truth`) and the question the hook needs; read back
    with pandas, as verl's dataset loader reads parquet. (The verl tests read it with verl's own RLHFDataset.)"""
    import pandas as pd
    from typer.testing import CliRunner

    from genrm.cli import app

    run, _ = micro_run
    problems = run.problems("test")
    out = tmp_path / "test.parquet"
    result = CliRunner().invoke(app, ["export", "verl", str(run.path), str(out), "--split", "test"])
    assert result.exit_code == 0, result.output
    rows = pd.read_parquet(out).to_dict("records")
    assert len(rows) == len(problems)
    first, p = rows[0], problems[0]
    assert first["data_source"] == "genrm/last_letter"
    assert list(first["prompt"]) == [{"role": "user", "content": f"Q: last letters of {p.question}\nA:"}]
    assert first["reward_model"] == {"style": "model", "ground_truth": p.answer}
    assert first["extra_info"] == {"split": "test", "index": 0, "id": p.id, "question": p.question}
    bare = CliRunner().invoke(
        app, ["export", "verl", str(run.path), str(out), "--split", "test", "--prompt", "question"]
    )
    assert bare.exit_code == 0 and list(pd.read_parquet(out)["prompt"][0])[0]["content"] == p.question
    bad = CliRunner().invoke(app, ["export", "verl", str(run.path), str(out), "--prompt", "chat"])
    assert isinstance(bad.exception, GenrmError) and "prompt 'chat': use task" in str(bad.exception)
