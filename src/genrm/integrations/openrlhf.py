"""OpenRLHF's reward function file over a verifier (OpenRLHF 0.11: `--reward.remote_url`; older releases
named the flag `--remote_rm_url`):

    GENRM_VERIFIER=runs/gsm8k  python -m openrlhf.cli.train_ppo_ray ... \
        --reward.remote_url $(python -c "import genrm.integrations.openrlhf as m; print(m.__file__)")

OpenRLHF 0.11 imports `reward_func` inside each vLLM rollout actor and calls it with one query per call, from
parallel threads; the calls share model calls here (`genrm.integrations.guard` batches them). The rollout
actors' GPUs are mostly claimed by vLLM: for a real verifier, serve it with `genrm serve` and give OpenRLHF
its URL (below).

OpenRLHF calls `reward_func(queries, prompts, labels)` with `queries` = prompt + response; the
response is what follows the prompt. A query that does not contain its prompt (OpenRLHF truncates an
over-long prompt from the left) gets the fallback, with a warning, not an error. The prompt is read per
GENRM_PROMPT_FORMAT (default `auto`:
verbatim when it is already in the verifier's prompt format, else put into it as a question).
Labels are accepted and not used: a verifier needs no reference answer. A call that fails or runs past
the deadline (GENRM_REWARD_TIMEOUT, default 300 s) rewards every query GENRM_REWARD_FALLBACK (default
0.0), logged as a warning (`genrm.integrations.guard`).
(For a verifier on another machine, serve it with `genrm serve` and give OpenRLHF
`--reward.remote_url http://host:port/get_reward?token=TOKEN` instead: same protocol; OpenRLHF's client
sends no headers, so the token goes in the URL.)

Loaded by path (as OpenRLHF loads it), the file checks its environment and loads the verifier at once
(`genrm.integrations.check_environment`): OpenRLHF catches every reward error and logs it at INFO, so a wrong
GENRM_VERIFIER would otherwise leave every sample without a reward. Fallbacks are logged at WARNING with
running counts.

This file is imported by path (absolute imports only).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence


def make_reward_func(
    verifier: Any,
    prompt_format: str = "auto",
    timeout_s: float | None = None,
    fallback_score: float | None = None,
    reward: str = "outcome",
):
    """`reward_func(queries, prompts, labels) -> {"rewards", "scores", "extra_logs"}` (tensors). `reward`:
    outcome (p(correct)) or step_min (see `genrm.serving.reward.reward_value`)."""
    import torch

    from genrm.core.config import check_reward_mode
    from genrm.core.types import Result
    from genrm.integrations import guard as guarding
    from genrm.serving.reward import openrlhf_pairs, openrlhf_response

    check_reward_mode(reward)

    guard = guarding.GuardedScorer(verifier, timeout_s, "openrlhf")
    fallback = guarding.fallback_score(fallback_score)

    def reward_func(queries: Sequence[str], prompts: Sequence[str] | None = None, labels: Any = None, **kwargs) -> dict:
        clean = getattr(verifier, "clean_completion", lambda s: s)
        given = None if prompts is None else list(prompts)
        pairs, fmt = openrlhf_pairs(list(queries), given, prompt_format, clean, lenient=True)
        keep = [p for p in pairs if p is not None]
        results = guard.score(keep, prompt_format=fmt)
        lost = [i for i, p in enumerate(pairs) if p is None]  # a query that lost its prompt fails alone
        if lost:
            why = f"queries {lost} of this call do not contain their prompt (cut from the left as over-long?)"
            guard.fallback(why, len(lost), counted=False)
        got = iter(results if results is not None else [Result(fallback, [], [])] * len(keep))
        body = openrlhf_response([next(got) if p is not None else Result(fallback, [], []) for p in pairs], reward)
        return {
            "rewards": torch.tensor(body["rewards"], dtype=torch.float32),
            "scores": torch.tensor(body["scores"], dtype=torch.float32),
            "extra_logs": {k: torch.tensor(v, dtype=torch.float32) for k, v in body["extra_logs"].items()},
        }

    return reward_func


def reward_func(queries: Sequence[str], prompts: Sequence[str] | None = None, labels: Any = None, **kwargs) -> dict:
    """OpenRLHF's entry point; the verifier comes from GENRM_VERIFIER (loaded once per process)."""
    return _env_reward_func()(queries, prompts, labels)


@lru_cache(maxsize=1)
def _env_reward_func():
    from genrm.integrations import env_prompt_format, env_reward_mode, env_reward_model

    return make_reward_func(env_reward_model(), env_prompt_format(), reward=env_reward_mode())


if __name__ != "genrm.integrations.openrlhf":  # loaded by path, as OpenRLHF does: check the setup now
    from genrm.integrations import check_environment

    check_environment("OpenRLHF")
