"""The RL hooks driven through the frameworks' own released code, not our reading of it.

- verl 0.9.1: the config composed by Hydra from verl's own YAML with the docs' overrides (docs/serving.md), verl's
  `RewardLoopWorker` and naive reward manager scoring a `DataProto` built as verl builds it, calling
  genrm's hook (sync and async) loaded by verl's own loader; verl's reward router in front of an
  OpenAI-compatible model server (the path where verl hosts the GenRM model).
- OpenRLHF 0.11.2: its rollout-side reward client (`SingleTurnAgentExecutor`) posting to a live
  `genrm serve` with a token in the URL, and loading the `.py` hook, one query per call, in parallel.

verl and OpenRLHF are installed by `.ci/run` with `--no-deps` (their full dependency sets pin other
versions of Transformers and pull CUDA builds); GENRM_REQUIRE_RL=1 there turns a missing one into a failure.
"""

import asyncio
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from by_hand import direct_p_yes_top_k
from conftest import serving, spawn_server
from genrm.integrations import env_reward_model

RECIPES = Path(__file__).resolve().parents[1] / "docs" / "serving.md"  # the RL frameworks page
VERL_VERSION, OPENRLHF_VERSION = "0.9.1", "0.11.2"


def need(module: str, version: str):
    from importlib import metadata

    try:
        got = metadata.version(module)
    except metadata.PackageNotFoundError:
        if os.environ.get("GENRM_REQUIRE_RL"):
            raise
        pytest.skip(f"{module} is not installed (.ci/run installs {module}=={version})")
    assert got == version, f"these tests are written against {module} {version}, found {got}"


@pytest.fixture
def env_verifier(micro_run, monkeypatch):
    monkeypatch.setenv("GENRM_VERIFIER", str(micro_run[0].path))
    monkeypatch.setenv("GENRM_METHOD", "genrm")
    env_reward_model.cache_clear()
    yield micro_run[0]
    env_reward_model.cache_clear()


def count_model_calls(monkeypatch, reward_model) -> list[int]:
    """Items per model call of an in-process verifier (to see concurrent calls batched)."""
    calls: list[int] = []
    inner = reward_model.verifier.score

    def counted(pairs, *a, **kw):
        calls.append(len(pairs))
        return inner(pairs, *a, **kw)

    monkeypatch.setattr(reward_model.verifier, "score", counted)
    return calls


def readme_verl_overrides() -> list[str]:
    """The verl overrides exactly as the docs' command gives them (the path filled in)."""
    import genrm.integrations.verl as hook

    text = RECIPES.read_text()
    block = text[text.index("python -m verl.trainer.main_ppo") :].split("```")[0]
    words = block.replace("\\\n", " ").split()
    overrides = [w for w in words if w.startswith("reward.")]
    assert overrides, "the docs' verl command has no reward.* overrides"
    path = '$(python -c "import genrm.integrations.verl as m; print(m.__file__)")'
    joined = " ".join(words)
    assert f"reward.custom_reward_function.path={path}" in joined
    key = "reward.custom_reward_function.path="
    return [f"{key}{hook.__file__}" if o.startswith(key) else o for o in overrides]


def verl_config(overrides: list[str], model_dir: str):
    import verl
    from hydra import compose, initialize_config_dir

    config_dir = str(Path(verl.__file__).parent / "trainer" / "config")
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        return compose("ppo_trainer", overrides=[*overrides, f"actor_rollout_ref.model.path={model_dir}"])


def verl_batch(tokenizer, items, question_key="question"):
    """A `DataProto` as verl's trainer hands it to the reward loop: left-padded prompts, right-padded
    responses, one attention mask over both, and the dataset's non-tensor fields."""
    from verl import DataProto

    prompts = [tokenizer(q, add_special_tokens=False).input_ids for q, _ in items]
    responses = [tokenizer(s, add_special_tokens=False).input_ids for _, s in items]
    P, R, pad = max(map(len, prompts)), max(map(len, responses)), tokenizer.pad_token_id
    p_ids = torch.tensor([[pad] * (P - len(p)) + p for p in prompts])
    r_ids = torch.tensor([r + [pad] * (R - len(r)) for r in responses])
    mask = torch.tensor(
        [[0] * (P - len(p)) + [1] * len(p) + [1] * len(r) + [0] * (R - len(r)) for p, r in zip(prompts, responses)]
    )
    return DataProto.from_dict(
        tensors={
            "prompts": p_ids,
            "responses": r_ids,
            "input_ids": torch.cat([p_ids, r_ids], 1),
            "attention_mask": mask,
        },
        non_tensors={
            "data_source": np.array(["genrm/last_letter"] * len(items), dtype=object),
            "reward_model": np.array([{"ground_truth": "unused"} for _ in items], dtype=object),
            "extra_info": np.array([{question_key: q, "index": i} for i, (q, _) in enumerate(items)], dtype=object),
        },
    )


@pytest.mark.parametrize("name", ["compute_score_async", "compute_score"])
def test_verl_reward_loop_with_the_readme_keys(env_verifier, monkeypatch, run_items, name):
    need("verl", VERL_VERSION)
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

    run = env_verifier
    items = run_items[:16]
    overrides = [o.replace("compute_score_async", name) for o in readme_verl_overrides()]
    config = verl_config(overrides, str(run.file("models", "generator")))
    assert config.reward.custom_reward_function.name == name and config.reward.reward_manager.name == "naive"
    worker = RewardLoopWorker(config, None)  # verl's own worker: loads our file, builds the naive manager
    tokenizer = worker.input_tokenizer
    data = verl_batch(tokenizer, items)
    decoded = [
        tokenizer.decode(tokenizer(s, add_special_tokens=False).input_ids, skip_special_tokens=True) for _, s in items
    ]
    reward_model = env_reward_model()
    expected = [r.score for r in reward_model.score([(q, d) for (q, _), d in zip(items, decoded)])]
    calls = count_model_calls(monkeypatch, reward_model)
    out = worker.loop.run_until_complete(worker.compute_score_batch(data))
    assert [o["reward_score"] for o in out] == pytest.approx(expected, abs=1e-5)
    assert all(o["reward_extra_info"]["genrm_fallback"] == 0.0 for o in out)
    assert "acc" not in out[0]["reward_extra_info"]  # a dict return: verl logs genrm's own keys
    assert calls and len(calls) < len(items), f"model calls {calls}: concurrent responses were not batched"


def test_verl_legacy_keys_are_ignored_by_verl_0_9(env_verifier):
    """Why the recipe changed: verl 0.9.1 accepts the old top-level keys and never reads them."""
    need("verl", VERL_VERSION)
    import genrm.integrations.verl as hook

    legacy = [
        f"custom_reward_function.path={hook.__file__}",
        "custom_reward_function.name=compute_score_batch",
        "reward_model.reward_manager=batch",
    ]
    config = verl_config(legacy, str(env_verifier.file("models", "generator")))
    assert config.reward.custom_reward_function.path is None  # main_ppo would use its rule-based score


def test_verl_hosting_the_verifier_behind_its_reward_router(micro_run, run_items, monkeypatch):
    """verl serves the GenRM model itself (vLLM/SGLang) behind its reward router and passes the router's
    address; genrm's async hook reads p(Yes) through it. Here verl's own router fronts an OpenAI-compatible
    server (tests/openai_server.py) of the micro run's trained GenRM; the expected scores are its p(Yes) worked
    out from the logits, within the server's top-20 logprobs."""
    need("verl", VERL_VERSION)
    from verl.experimental.reward_loop.router.naive_router import NaiveRouter

    import genrm.integrations.verl as hook

    run, _ = micro_run
    items = run_items[:6]
    server = Path(__file__).parent / "openai_server.py"
    proc, url = spawn_server([str(server), str(run.file("models", "genrm")), "0"])
    monkeypatch.delenv("GENRM_VERIFIER", raising=False)  # verl hosts the verifier: the router is used
    monkeypatch.setenv("GENRM_TASK", "last_letter")
    monkeypatch.setenv("GENRM_METHOD", "genrm")
    # p(Yes) by hand from the logits, as the server reports it: its top-20 logprobs (0 when " Yes" is not in them)
    expected = direct_p_yes_top_k(run.file("models", "genrm"), items, k=20)

    async def rewards(address):  # as verl passes it: host:port
        calls = [
            hook.compute_score_async("d", s, None, {"question": q}, reward_router_address=address) for q, s in items
        ]
        return await asyncio.gather(*calls)

    try:
        with serving(NaiveRouter([url]).app, log_level="error") as router_url:
            out = asyncio.run(rewards(router_url.removeprefix("http://")))
        assert [o["genrm_fallback"] for o in out] == [0.0] * len(items)
        assert [o["score"] for o in out] == pytest.approx(expected, abs=1e-4)
    finally:
        proc.terminate()
        proc.wait(10)
        hook._rewards.clear()


def test_openrlhf_client_posts_to_genrm_serve_with_a_url_token(micro_run, genrm_reward, run_items):
    """OpenRLHF's own HTTP client sends no headers: the token goes in the URL the docs give."""
    need("openrlhf", OPENRLHF_VERSION)
    from openrlhf.utils.agent import SingleTurnAgentExecutor

    run, _ = micro_run
    items = run_items[:6]
    args = ["-m", "genrm", "serve", str(run.path), "--method", "genrm", "--port", "0", "--api-key", "s3cret"]
    proc, url = spawn_server(args, ready="/health")
    try:
        prompts = [run.task.prompt_template.format(question=q) for q, _ in items]
        queries = [p + s for p, (_, s) in zip(prompts, items)]
        expected = [r.score for r in genrm_reward.score(items)]
        client = SingleTurnAgentExecutor(f"{url}/get_reward?token=s3cret")

        async def one_per_call():  # as the rollout does: one query per request, all at once
            return await asyncio.gather(
                *[client._fetch_rewards_via_http([q], [p], [None]) for q, p in zip(queries, prompts)]
            )

        got = asyncio.run(one_per_call())
        assert [g[0]["rewards"][0] for g in got] == pytest.approx(expected, abs=1e-5)
        assert [g[0]["scores"][0] for g in got] == pytest.approx(expected, abs=1e-5)
        with pytest.raises(RuntimeError, match="Request error for 5 times"):  # a wrong token: OpenRLHF gives up
            asyncio.run(
                SingleTurnAgentExecutor(f"{url}/get_reward?token=wrong")._fetch_rewards_via_http(
                    queries[:1], prompts[:1], [None]
                )
            )
    finally:
        proc.terminate()
        proc.wait(10)


def test_openrlhf_loads_the_py_hook_and_calls_it_in_parallel(env_verifier, monkeypatch, genrm_reward, run_items):
    need("openrlhf", OPENRLHF_VERSION)
    from openrlhf.utils.agent import SingleTurnAgentExecutor

    import genrm.integrations.openrlhf as hook

    run = env_verifier
    items = run_items[:16]
    hook._env_reward_func.cache_clear()
    executor = SingleTurnAgentExecutor(hook.__file__)  # OpenRLHF imports `reward_func` from the file itself
    prompts = [run.task.prompt_template.format(question=q) for q, _ in items]
    queries = [p + s for p, (_, s) in zip(prompts, items)]
    expected = [r.score for r in genrm_reward.score(items)]
    calls = count_model_calls(monkeypatch, env_reward_model())

    async def rollouts():  # OpenRLHF: one query per reward_func call, each in its own thread
        return await asyncio.gather(
            *[executor._fetch_rewards_via_func([q], [p], [None]) for q, p in zip(queries, prompts)]
        )

    got = asyncio.run(rollouts())
    assert [float(g[0]["rewards"][0]) for g in got] == pytest.approx(expected, abs=1e-5)
    assert calls and len(calls) < len(items), f"model calls {calls}: the threads' calls were not batched"
    # a prompt OpenRLHF truncated from the left: that query gets the fallback, the others their score
    out = executor.reward_func([queries[0], queries[1][5:]], [prompts[0], prompts[1]], [None, None])
    assert float(out["rewards"][0]) == pytest.approx(expected[0], abs=1e-5) and float(out["rewards"][1]) == 0.0
    hook._env_reward_func.cache_clear()
