"""verl custom reward functions over a verifier (verl 0.9: the reward loop; older verl: the same functions).

verl 0.9.1 reads the custom reward function from `reward.custom_reward_function.*` and the reward manager
from `reward.reward_manager.name` (`trainer/config/reward/reward.yaml`; the older top-level keys
`custom_reward_function.*` and `reward_model.reward_manager` are no longer read by `main_ppo`, which then
silently trains on its built-in rule-based score):

    python -m verl.trainer.main_ppo ... \\
        reward.custom_reward_function.path=$(python -c "import genrm.integrations.verl as m; print(m.__file__)") \\
        reward.custom_reward_function.name=compute_score_async reward.reward_manager.name=naive

The naive reward manager calls the function once per response: in verl's default trainer (the agent loop) as
each trajectory finishes, on a random reward-loop worker; when verl hosts the reward model on the rollout GPUs
(`compute_rm_score`), for every response of a worker's chunk at once. The calls run as coroutines on the
worker's event loop when the function is async (`compute_score_async`), else from a thread pool
(`compute_score`). Either way an in-process verifier batches the concurrent calls into shared model calls
(`genrm.integrations.guard`: the server's dynamic batcher), and a verifier behind `genrm serve`
(GENRM_VERIFIER=http://host:port) batches on the server. Each reward-loop worker (`reward.num_workers`,
8 by default, CPU-only Ray actors) loads its own copy of an in-process verifier: serve a real verifier on
a GPU with `genrm serve` and give its URL.

The verifier: GENRM_VERIFIER (a run folder, a trained verifier folder, or the URL of `genrm serve`), or, when
verl itself hosts the verifier (`reward.reward_model.enable=True` with `reward.reward_model.model_path` a
GenRM model, served by vLLM/SGLang behind verl's reward router) and GENRM_VERIFIER=router,
the router's OpenAI-compatible endpoint (`reward_router_address`, passed by verl), read with genrm's HTTP
engine as GENRM_METHOD (default genrm) in GENRM_TASK's prompt format (default gsm8k).

The question comes from `extra_info["question"]` (or GENRM_QUESTION_KEY); `ground_truth` is accepted and not
used (a verifier needs no reference answer). Each call returns a dict, which verl logs per key:
`score` (the reward: p(correct)), `genrm_fallback` (1.0 where the fallback replaced it), and for GenRM-CoT
and the judge `genrm_vote_min` / `genrm_vote_max` (the spread of the K votes: how sure the verifier is).
A call that fails or runs past GENRM_REWARD_TIMEOUT (default 300 s) gets GENRM_REWARD_FALLBACK (default 0.0)
and a warning; a missing question is a setup error and is raised.

Rows: verl's reward managers read `reward_model["ground_truth"]` of every row (a KeyError without it, before
genrm is called); genrm ignores its value. `genrm export verl` writes a run's problems as verl parquet with
every field verl reads (`data_source`, `prompt`, `reward_model.ground_truth`, `extra_info.question`).

Loaded by path (as verl loads it), the file checks its environment and loads the verifier at once
(`genrm.integrations.check_environment`): a wrong GENRM_VERIFIER stops verl's reward workers at start-up.

This file is imported by path (absolute imports only).
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, Sequence

from genrm.core.errors import GenrmError


def _question(extra_info: Any, key: str, i: int) -> str:
    if isinstance(extra_info, dict) and isinstance(extra_info.get(key), str):
        return extra_info[key]
    have = ", ".join(extra_info) if isinstance(extra_info, dict) else type(extra_info).__name__
    raise GenrmError(
        f"extra_info[{i}] has no '{key}' string (it has: {have}); store the question in extra_info['{key}'] "
        "when preprocessing the data, or name its key in GENRM_QUESTION_KEY"
    )


class VerlReward:
    """verl's reward functions around one verifier: `compute_score` (sync), `compute_score_async` and
    `compute_score_batch` (the legacy batch manager), all guarded (deadline, fallback) and batched."""

    def __init__(
        self,
        verifier: Any,
        question_key: str = "question",
        prompt_format: str = "auto",
        timeout_s: float | None = None,
        fallback_score: float | None = None,
        reward: str = "outcome",
    ):
        from genrm.core.config import check_reward_mode
        from genrm.integrations import guard as guarding

        self.reward = check_reward_mode(reward)
        self.guard = guarding.GuardedScorer(verifier, timeout_s, "verl")
        self.fallback = guarding.fallback_score(fallback_score)
        self.question_key, self.prompt_format = question_key, prompt_format
        self.votes = getattr(verifier, "method", "") in ("genrm_cot", "judge")  # the same keys for every item

    def _items(self, solution_strs: Sequence[str], extra_infos: Sequence) -> list[tuple[str, str]]:
        infos = enumerate(zip(solution_strs, extra_infos))
        return [(_question(info, self.question_key, i), s) for i, (s, info) in infos]

    def _dicts(self, results: list | None, n: int) -> list[dict[str, float]]:
        """verl's dicts: `score` (the reward) and the same extra keys for every item (verl gathers them per key
        into `reward_extra_info`): `genrm_fallback`; with GenRM-CoT or the judge the votes' spread and the step
        numbers of `genrm.serving.reward.step_logs`."""
        from genrm.serving.reward import NOT_READ, reward_value, step_logs

        out = []
        for r in results if results is not None else [None] * n:
            score = self.fallback if r is None else reward_value(r, self.reward)
            d = {"score": score, "genrm_fallback": float(r is None)}
            if self.votes:
                votes = r.votes if r is not None and r.votes else [score]
                d.update(genrm_vote_min=float(min(votes)), genrm_vote_max=float(max(votes)))
                steps = {"genrm_steps_read": 0.0, "genrm_first_error": NOT_READ, "genrm_step_min": score}
                d.update(step_logs(r) if r is not None else steps)
            out.append(d)
        return out

    def compute_score(self, data_source=None, solution_str: str = "", ground_truth=None, extra_info=None, **kw) -> dict:
        items = self._items([solution_str], [extra_info])
        return self._dicts(self.guard.score(items, prompt_format=self.prompt_format), 1)[0]

    async def compute_score_async(
        self, data_source=None, solution_str: str = "", ground_truth=None, extra_info=None, **kw
    ) -> dict:
        items = self._items([solution_str], [extra_info])
        return self._dicts(await self.guard.ascore(items, prompt_format=self.prompt_format), 1)[0]

    def compute_score_batch(self, data_sources, solution_strs, ground_truths, extra_infos, **kw) -> list[dict]:
        items = self._items(solution_strs, extra_infos)
        return self._dicts(self.guard.score(items, prompt_format=self.prompt_format), len(items))


def make_compute_score(
    verifier: Any,
    question_key: str = "question",
    prompt_format: str = "auto",
    timeout_s: float | None = None,
    fallback_score: float | None = None,
    reward: str = "outcome",
) -> tuple[Callable, Callable]:
    """`(compute_score, compute_score_batch)` with verl's signatures, around one verifier (in code; the
    async one is `VerlReward(...).compute_score_async`)."""
    r = VerlReward(verifier, question_key, prompt_format, timeout_s, fallback_score, reward)
    return r.compute_score, r.compute_score_batch


_rewards: dict[str, VerlReward] = {}
_rewards_lock = threading.Lock()


def _env_reward(router: str | None = None) -> VerlReward:
    """The process's `VerlReward` from the environment (built once; per router address when verl hosts
    the verifier)."""
    from genrm.integrations import env_prompt_format, env_reward_mode, env_reward_model

    source = os.environ.get("GENRM_VERIFIER", "").strip()
    use_router = source == "router"
    if use_router and not router:
        raise GenrmError(
            "GENRM_VERIFIER=router but verl passed no reward router address: enable verl's reward model "
            "(reward.reward_model.enable=True, reward.reward_model.model_path=<a GenRM model>) or set "
            "GENRM_VERIFIER to a run folder, a trained verifier folder or the URL of `genrm serve`"
        )
    key = f"router:{router}" if use_router else "env"
    with _rewards_lock:
        if key not in _rewards:
            if use_router:
                from genrm.serving.reward import RewardModel

                verifier: Any = RewardModel.load(
                    f"http://{router}",
                    os.environ.get("GENRM_METHOD") or "genrm",
                    task=os.environ.get("GENRM_TASK") or "gsm8k",
                )
            else:
                verifier = env_reward_model()
            _rewards[key] = VerlReward(
                verifier,
                os.environ.get("GENRM_QUESTION_KEY", "question"),
                env_prompt_format(),
                reward=env_reward_mode(),
            )
        return _rewards[key]


def compute_score(
    data_source=None, solution_str: str = "", ground_truth=None, extra_info=None, reward_router_address=None, **kw
) -> dict:
    """verl's per-response reward (sync): `{"score": p(correct), ...}` of `solution_str` for the question
    in `extra_info`."""
    return _env_reward(reward_router_address).compute_score(data_source, solution_str, ground_truth, extra_info)


async def compute_score_async(
    data_source=None, solution_str: str = "", ground_truth=None, extra_info=None, reward_router_address=None, **kw
) -> dict:
    """verl's per-response reward as a coroutine (the reward loop awaits it; concurrent calls share model
    calls). With verl hosting the verifier, read through its reward router."""
    reward = _env_reward(reward_router_address)
    return await reward.compute_score_async(data_source, solution_str, ground_truth, extra_info)


def compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos, **kw) -> list[dict]:
    """The legacy batched reward (verl < 0.9's `reward_model.reward_manager=batch`): one call per batch."""
    return _env_reward(kw.get("reward_router_address")).compute_score_batch(
        data_sources, solution_strs, ground_truths, extra_infos
    )


def verl_rows(problems: Sequence[Any], task: Any, split: str, prompt: str = "task") -> list[dict]:
    """verl dataset rows for genrm problems: every field verl's `RLHFDataset` and reward managers read.
    `prompt`: "task" (the task's solve prompt, as genrm's generator is prompted) or "question" (the bare
    question, for a chat policy with its own instructions); either way one user message, which verl renders
    with the policy's chat template. `reward_model.ground_truth` is the reference answer (verl's managers read
    the key; genrm ignores it), `extra_info.question` what the hook gives the verifier."""
    if prompt not in ("task", "question"):
        raise GenrmError(f"prompt {prompt!r}: use task (the task's solve prompt) or question (the bare question)")
    name = getattr(task, "name", type(task).__name__)
    return [
        {
            "data_source": f"genrm/{name}",
            "prompt": [{"role": "user", "content": task.prompt(p) if prompt == "task" else p.question}],
            "ability": name,
            "reward_model": {"style": "model", "ground_truth": p.answer},
            "extra_info": {"split": split, "index": i, "id": p.id, "question": p.question},
        }
        for i, p in enumerate(problems)
    ]


def write_verl_parquet(rows: list[dict], path: str | os.PathLike) -> int:
    """Write `verl_rows` as the parquet file verl's `data.train_files` / `data.val_files` read."""
    from datasets import Dataset

    if not rows:
        raise GenrmError(f"no problems to write to {path}: the split is empty")
    Dataset.from_list(rows).to_parquet(str(path))
    return len(rows)


if __name__ != "genrm.integrations.verl":  # loaded by path, as verl does: check the setup now
    from genrm.integrations import check_environment

    check_environment("verl", router_allowed=True)
