"""The RL hooks driven through the frameworks' own released code, along the paths their default trainers take.

- verl 0.9.1 (`.ci/rl verl`: `genrm-verifiers[verl]` installed as a user does): the config composed by Hydra from
  verl's own YAML with the docs' overrides; the agent loop of the default trainer (`AgentLoopWorker
  .generate_sequences` over a batch that verl's `RLHFDataset` read from `genrm export verl`'s parquet, a stub
  in place of the vLLM server) scoring each trajectory with `compute_score.remote` on the `RewardLoopWorker`
  actors that verl's `RewardLoopManager` started; the manager itself handing its workers the address of verl's
  reward router (verl hosting the GenRM model) and scoring the rollout batch (`compute_rm_score`); the batch path
  of the legacy keys.
- OpenRLHF 0.11.2 (`.ci/rl openrlhf`): `SingleTurnAgentExecutor.execute()` with a stub engine, as the rollout
  calls it, loading the `.py` hook, through to the `Experience` OpenRLHF builds from its output; its HTTP client
  posting to a live `genrm serve` with a token in the URL.

Expected rewards are p(Yes) worked out from the trained GenRM's logits by `tests/by_hand.py`. Each test says which
change of the framework's contract (or of genrm's reading of it) makes it fail; each was planted and seen to fail.
verl and OpenRLHF want different Transformers versions, so each runs in its own environment (markers `verl`,
`openrlhf`); in the main environment these tests skip (tests/expected_skips.txt). GENRM_REQUIRE_RL=verl|openrlhf
(set by .ci/rl) turns that framework's absence into a failure.
"""

import asyncio
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from by_hand import SOLVE, direct_p_yes, direct_p_yes_top_k
from conftest import serving, spawn_server
from genrm.integrations import env_reward_model

RECIPES = Path(__file__).resolve().parents[1] / "docs" / "serving.md"  # the RL frameworks page
VERL_VERSION, OPENRLHF_VERSION = "0.9.1", "0.11.2"
CHAT_TEMPLATE = "{% for m in messages %}{{ m['content'] }}{% endfor %}"  # the char tokenizer has none


def need(module: str, version: str):
    from importlib import metadata

    try:
        got = metadata.version(module)
    except metadata.PackageNotFoundError:
        if os.environ.get("GENRM_REQUIRE_RL") == module:
            raise
        pytest.skip(f"{module} is not installed (.ci/rl {module} runs this in an environment with {module}=={version})")
    assert got == version, f"these tests are written against {module} {version}, found {got}"


@pytest.fixture
def env_verifier(micro_run, monkeypatch):
    monkeypatch.setenv("GENRM_VERIFIER", str(micro_run[0].path))
    monkeypatch.setenv("GENRM_METHOD", "genrm")
    env_reward_model.cache_clear()
    yield micro_run[0]
    env_reward_model.cache_clear()


def count_model_calls(monkeypatch, reward_model, latency_s: float = 0.05) -> list[int]:
    """Items per model call of an in-process verifier (to see concurrent calls batched). Each call takes at least
    `latency_s`, as a real verifier's forward pass does: the micro model answers in about a millisecond, so calls
    that a framework makes a few milliseconds apart (each after its own decoding) would otherwise never overlap on
    a busy machine, and whether they shared a call would depend on the machine's load, not on the batching."""
    calls: list[int] = []
    inner = reward_model.verifier.score

    def counted(pairs, *a, **kw):
        calls.append(len(pairs))
        time.sleep(latency_s)
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
    rollout = [
        f"actor_rollout_ref.model.path={model_dir}",
        f"+actor_rollout_ref.model.custom_chat_template={json.dumps(CHAT_TEMPLATE)}",
        "actor_rollout_ref.rollout.name=vllm",
        "actor_rollout_ref.rollout.prompt_length=64",
        "actor_rollout_ref.rollout.response_length=64",
        "data.max_prompt_length=64",
    ]
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        return compose("ppo_trainer", overrides=[*overrides, *rollout])


@pytest.fixture
def local_ray(monkeypatch):
    """A local Ray cluster started after the test set its GENRM_* variables (workers inherit the driver's
    environment, as they do when a user exports them before `python -m verl.trainer.main_ppo`)."""
    started = []

    def start():
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        started.append(ray)

    yield start
    for ray in started:
        ray.shutdown()


def rollout_batch(run, split: str, n: int, tmp_path):
    """The batch verl's trainer hands the agent loop: `genrm export verl`'s parquet of the run's problems read by
    verl's own `RLHFDataset` and collated by its `collate_fn`."""
    from transformers import AutoTokenizer
    from typer.testing import CliRunner
    from verl import DataProto
    from verl.utils.dataset.rl_dataset import RLHFDataset, collate_fn

    from genrm.cli import app

    out = tmp_path / f"{split}.parquet"
    result = CliRunner().invoke(app, ["export", "verl", str(run.path), str(out), "--split", split])
    assert result.exit_code == 0, result.output
    tok = AutoTokenizer.from_pretrained(run.file("models", "generator"))
    tok.chat_template = CHAT_TEMPLATE
    config = verl_config([], str(run.file("models", "generator")))
    dataset = RLHFDataset(data_files=[str(out)], tokenizer=tok, config=config.data)
    rows = [dataset[i] for i in range(n)]
    assert all(set(r["reward_model"]) == {"style", "ground_truth"} for r in rows)
    return DataProto.from_single_dict(collate_fn(rows)), tok


class StubServer:
    """verl's LLM server client as the single-turn agent loop calls it (`generate` -> `TokenOutput`), answering
    each prompt with a fixed solution of its question (a candidate the micro run's generator sampled), + EOS."""

    def __init__(self, tokenizer, solutions: dict[str, str]):
        self.tok, self.solutions = tokenizer, solutions

    async def generate(self, request_id, prompt_ids, sampling_params, **kw):
        from verl.workers.rollout.replica import TokenOutput

        prompt = self.tok.decode(prompt_ids)
        (question,) = [q for q in self.solutions if prompt == SOLVE.format(q=q)]
        ids = self.tok(self.solutions[question], add_special_tokens=False).input_ids
        return TokenOutput(token_ids=[*ids, self.tok.eos_token_id])


def solutions_for(run, split: str, n: int) -> dict[str, str]:
    """One sampled candidate per problem (the k-th for the k-th problem, so rewards differ)."""
    from genrm.data.candidates import load_candidates

    problems = run.problems(split)[:n]
    cands = load_candidates(run.file("candidates", f"{split}.jsonl"), problems)
    return {p.question: cands[p.id][i % len(cands[p.id])].text for i, p in enumerate(problems)}


def sequence_rewards(out) -> list[float]:
    """verl's token-level `rm_scores` (the reward on each response's last token) summed per sequence."""
    return out.batch["rm_scores"].sum(-1).tolist()


@pytest.mark.verl
def test_verl_agent_loop_scores_each_trajectory_on_reward_loop_workers(micro_run, monkeypatch, local_ray, tmp_path):
    """The default trainer's path (`use_v1`): the agent loop runs every trajectory of a batch at once and sends each
    finished one to a random `RewardLoopWorker` actor (`compute_score.remote`), whose naive manager awaits genrm's
    async hook. Rewards per trajectory equal p(Yes) by hand for that trajectory's question and decoded response.
    Fails if: verl's reward worker stops passing `extra_info` (the hook then raises: no question), the response is
    decoded with its EOS or prompt, trajectories' rewards are mixed up, or the reward ends up elsewhere than
    `rm_scores` at the response's last token."""
    need("verl", VERL_VERSION)
    from verl.experimental.agent_loop.agent_loop import AgentLoopWorker
    from verl.experimental.reward_loop.reward_loop import RewardLoopManager

    run, _ = micro_run
    monkeypatch.setenv("GENRM_VERIFIER", str(run.path))
    monkeypatch.setenv("GENRM_METHOD", "genrm")
    local_ray()
    n = 6
    solutions = solutions_for(run, "test", n)
    batch, tok = rollout_batch(run, "test", n, tmp_path)
    config = verl_config([*readme_verl_overrides(), "reward.num_workers=2"], str(run.file("models", "generator")))
    manager = RewardLoopManager(config)  # verl starts its reward-loop actors (they load genrm's hook by path)
    handles = manager.reward_loop_worker_handles
    assert handles is not None and len(handles) == 2  # the agent loop scores while it rolls out
    worker = AgentLoopWorker(config, StubServer(tok, solutions), reward_loop_worker_handles=handles)
    out = asyncio.run(worker.generate_sequences(batch))
    questions = [info["question"] for info in batch.non_tensor_batch["extra_info"]]
    expected = direct_p_yes(run.file("models", "genrm"), [(q, solutions[q]) for q in questions])
    assert sequence_rewards(out) == pytest.approx(expected, abs=1e-5)
    assert list(out.non_tensor_batch["genrm_fallback"]) == [0.0] * n
    assert len(set(np.round(expected, 6))) > 1  # distinct rewards: a mix-up would show


@pytest.mark.verl
def test_verl_hosting_the_verifier_passes_its_router_to_the_hook(micro_run, monkeypatch, local_ray, tmp_path):
    """verl serves the GenRM model itself (`reward.reward_model.enable=True`) behind its reward router; its
    `RewardLoopManager` gives every `RewardLoopWorker` the router's address and the naive manager passes it to
    the hook as `reward_router_address` (GENRM_VERIFIER=router). Here the model server verl would launch with
    vLLM is tests/openai_server.py (the trained GenRM over Transformers) behind verl's own `NaiveRouter`; the
    trainer's colocated path scores the rollout batch with `compute_rm_score`. Expected: p(Yes) from the logits
    within the server's top-20 logprobs. Fails if verl stops passing the address (the hook raises) or passes it
    in another form than host:port."""
    need("verl", VERL_VERSION)
    import verl.experimental.reward_loop.reward_loop as reward_loop
    from verl.experimental.agent_loop.agent_loop import AgentLoopWorker
    from verl.experimental.reward_loop.router.naive_router import NaiveRouter

    run, _ = micro_run
    genrm_dir = run.file("models", "genrm")
    server, url = spawn_server([str(Path(__file__).parent / "openai_server.py"), str(genrm_dir), "0"])
    monkeypatch.setenv("GENRM_VERIFIER", "router")
    monkeypatch.setenv("GENRM_TASK", "last_letter")
    monkeypatch.setenv("GENRM_METHOD", "genrm")
    n = 6
    solutions = solutions_for(run, "test", n)
    batch, tok = rollout_batch(run, "test", n, tmp_path)
    hosting = ["reward.reward_model.enable=True", f"reward.reward_model.model_path={genrm_dir}", "reward.num_workers=2"]
    config = verl_config([*readme_verl_overrides(), *hosting], str(run.file("models", "generator")))
    try:
        with serving(NaiveRouter([url]).app, log_level="error") as router_url:

            class HostedModel:  # verl's RewardModelManager, whose vLLM servers sit behind the router above
                def __init__(self, *a, **kw):
                    pass

                def get_router_address(self):
                    return router_url.removeprefix("http://")

                def wake_up(self):
                    pass

                def sleep(self):
                    pass

            monkeypatch.setattr(reward_loop, "RewardModelManager", HostedModel)
            local_ray()
            manager = reward_loop.RewardLoopManager(config)
            assert manager.reward_loop_worker_handles is None  # colocated: the trainer scores after the rollout
            rollout = asyncio.run(AgentLoopWorker(config, StubServer(tok, solutions)).generate_sequences(batch))
            out = manager.compute_rm_score(rollout)
        questions = [info["question"] for info in batch.non_tensor_batch["extra_info"]]
        expected = direct_p_yes_top_k(genrm_dir, [(q, solutions[q]) for q in questions], k=20)
        assert list(out.non_tensor_batch["genrm_fallback"]) == [0.0] * n
        assert sequence_rewards(out) == pytest.approx(expected, abs=1e-4)
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.verl
@pytest.mark.parametrize("name", ["compute_score_async", "compute_score"])
def test_verl_reward_worker_batches_a_rollouts_responses(env_verifier, monkeypatch, tmp_path, name):
    """A rollout batch as the agent loop returns it (left-padded prompts, right-padded responses) scored by verl's
    own `RewardLoopWorker` (the colocated path: `compute_score_batch`, every response at once), with the hook
    sync (a thread pool) or async: the concurrent calls share model calls. Fails if the responses' padding or EOS
    reach the verifier, or verl stops calling the function once per response."""
    need("verl", VERL_VERSION)
    from verl.experimental.agent_loop.agent_loop import AgentLoopWorker
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

    run = env_verifier
    n = 6  # the micro run's test problems
    overrides = [o.replace("compute_score_async", name) for o in readme_verl_overrides()]
    config = verl_config(overrides, str(run.file("models", "generator")))
    assert config.reward.custom_reward_function.name == name and config.reward.reward_manager.name == "naive"
    solutions = solutions_for(run, "test", n)
    batch, tok = rollout_batch(run, "test", n, tmp_path)
    rollout = asyncio.run(AgentLoopWorker(config, StubServer(tok, solutions)).generate_sequences(batch))
    worker = RewardLoopWorker(config, None)  # verl's own worker: loads our file, builds the naive manager
    calls = count_model_calls(monkeypatch, env_reward_model())
    out = worker.loop.run_until_complete(worker.compute_score_batch(rollout))
    questions = [info["question"] for info in batch.non_tensor_batch["extra_info"]]
    expected = direct_p_yes(run.file("models", "genrm"), [(q, solutions[q]) for q in questions])
    assert [o["reward_score"] for o in out] == pytest.approx(expected, abs=1e-5)
    assert all(o["reward_extra_info"]["genrm_fallback"] == 0.0 for o in out)
    assert "acc" not in out[0]["reward_extra_info"]  # a dict return: verl logs genrm's own keys
    assert calls and len(calls) < n, f"model calls {calls}: concurrent responses were not batched"


@pytest.mark.verl
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


class StubEngine:
    """OpenRLHF's vLLM rollout actor as `SingleTurnAgentExecutor.execute` calls it (`generate` -> an object with
    `outputs[0].token_ids`, `finish_reason`, `logprobs`): answers each prompt with a fixed solution + EOS."""

    def __init__(self, tokenizer, solutions: dict[str, str]):
        self.tok, self.solutions = tokenizer, solutions

    async def generate(self, prompt_token_ids, sampling_params, multi_modal_data=None):
        from types import SimpleNamespace

        prompt = self.tok.decode(prompt_token_ids)
        (question,) = [q for q in self.solutions if prompt == SOLVE.format(q=q)]
        ids = [*self.tok(self.solutions[question], add_special_tokens=False).input_ids, self.tok.eos_token_id]
        return SimpleNamespace(outputs=[SimpleNamespace(token_ids=ids, finish_reason="stop", logprobs=None)])


def openrlhf_experience_builder():
    """`SamplesGenerator._process_response_into_experience` from OpenRLHF's released source: its module imports
    vLLM at the top (not installed on CPU), so the function is cut out by AST and run with the names it uses."""
    import ast
    import inspect

    import openrlhf.trainer.ppo_utils as ppo_utils
    from openrlhf.trainer.ppo_utils.experience import Experience

    path = Path(inspect.getfile(ppo_utils)).parent / "samples_generator.py"
    tree = ast.parse(path.read_text())
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "SamplesGenerator"]
    (fn,) = [n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "_process_response_into_experience"]
    scope = {"torch": torch, "Experience": Experience}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), str(path), "exec"), scope)
    return lambda response: scope["_process_response_into_experience"](None, response, max_len=2048)


def openrlhf_rollouts(executor, run, solutions):
    """Every question's rollout at once, as OpenRLHF's `generate_responses` gathers `execute` calls."""
    from types import SimpleNamespace

    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(run.file("models", "generator"))
    params = SimpleNamespace(max_tokens=64, logprobs=None)
    engine = StubEngine(tok, solutions)

    async def all_at_once():
        calls = [executor.execute(SOLVE.format(q=q), "label", params, 256, tok, engine) for q in solutions]
        return await asyncio.gather(*calls)

    return asyncio.run(all_at_once())


@pytest.mark.openrlhf
def test_openrlhf_rollout_loads_the_hook_and_rewards_each_experience(micro_run, monkeypatch):
    """OpenRLHF's rollout (`--reward.remote_url reward_func.py`): `SingleTurnAgentExecutor` loads the hook by path
    (genrm checks its setup then), `execute()` generates with the engine, decodes prompt + response with special
    tokens and calls `reward_func` from a thread, one query per call; `_process_response_into_experience` turns
    the output into the `Experience` whose `rewards` the trainer uses. Expected: p(Yes) by hand. Fails if the
    EOS that `execute()` decodes into the query reaches the verifier (planted: the hook without
    `clean_completion`), if concurrent rollouts stop sharing model calls, or if OpenRLHF moves the reward out of
    the output's `reward`."""
    need("openrlhf", OPENRLHF_VERSION)
    from openrlhf.utils.agent import SingleTurnAgentExecutor

    import genrm.integrations.openrlhf as hook
    from genrm.core.errors import GenrmError

    run, _ = micro_run
    monkeypatch.delenv("GENRM_VERIFIER", raising=False)
    with pytest.raises(GenrmError, match="GENRM_VERIFIER is not set"):  # at start-up, not a missing reward later
        SingleTurnAgentExecutor(hook.__file__)
    monkeypatch.setenv("GENRM_VERIFIER", str(run.path))
    monkeypatch.setenv("GENRM_METHOD", "genrm")
    env_reward_model.cache_clear()
    hook._env_reward_func.cache_clear()
    try:
        executor = SingleTurnAgentExecutor(hook.__file__)  # OpenRLHF imports `reward_func` from the file itself
        calls = count_model_calls(monkeypatch, env_reward_model())
        solutions = solutions_for(run, "test", 6)
        outputs = openrlhf_rollouts(executor, run, solutions)
        to_experience = openrlhf_experience_builder()
        rewards = [float(to_experience(o).rewards.flatten()[0]) for o in outputs]
        expected = direct_p_yes(run.file("models", "genrm"), list(solutions.items()))
        assert rewards == pytest.approx(expected, abs=1e-5)
        assert calls and len(calls) < len(solutions), f"model calls {calls}: the threads' calls were not batched"
    finally:
        hook._env_reward_func.cache_clear()
        env_reward_model.cache_clear()


@pytest.mark.openrlhf
def test_openrlhf_rollout_posts_to_genrm_serve_with_a_url_token(micro_run):
    """`--reward.remote_url http://host:port/get_reward?token=...`: OpenRLHF's own HTTP client (no headers, so the
    token goes in the URL the docs give), through `execute()`. A wrong token: OpenRLHF retries, then catches the
    error and logs it at INFO, leaving the sample without a reward (`reward` None) -- why `genrm serve` logs
    every 401 at WARNING. Fails if OpenRLHF's request body or response reading changes."""
    need("openrlhf", OPENRLHF_VERSION)
    from openrlhf.utils.agent import SingleTurnAgentExecutor

    run, _ = micro_run
    args = ["-m", "genrm", "serve", str(run.path), "--method", "genrm", "--port", "0", "--api-key", "s3cret"]
    proc, url = spawn_server(args, ready="/health")
    try:
        solutions = solutions_for(run, "test", 6)
        outputs = openrlhf_rollouts(SingleTurnAgentExecutor(f"{url}/get_reward?token=s3cret"), run, solutions)
        expected = direct_p_yes(run.file("models", "genrm"), list(solutions.items()))
        to_experience = openrlhf_experience_builder()
        assert [float(to_experience(o).rewards.flatten()[0]) for o in outputs] == pytest.approx(expected, abs=1e-4)
        one = dict([next(iter(solutions.items()))])
        (wrong,) = openrlhf_rollouts(SingleTurnAgentExecutor(f"{url}/get_reward?token=wrong"), run, one)
        assert wrong["reward"] is None and to_experience(wrong).rewards is None
    finally:
        proc.terminate()
        proc.wait(10)
