"""OpenRLHF's reward function file over a verifier:

    GENRM_VERIFIER=runs/gsm8k  openrlhf.cli.train_ppo_ray ... \
        --remote_rm_url $(python -c "import genrm.integrations.openrlhf as m; print(m.__file__)")

OpenRLHF calls `reward_func(queries, prompts, labels)` with `queries` = prompt + response; the
response is what follows the prompt. The prompt is read per GENRM_PROMPT_FORMAT (default `auto`:
verbatim when it is already in the verifier's prompt format, else put into it as a question).
Labels are accepted and not used: a verifier needs no reference answer. A call that fails or runs past
the deadline (GENRM_REWARD_TIMEOUT, default 300 s) rewards every query GENRM_REWARD_FALLBACK (default
0.0), logged as a warning (`genrm.integrations.guard`).
(For a verifier on another machine, serve it with `genrm serve` and give OpenRLHF
`--remote_rm_url http://host:port/get_reward` instead: same protocol.)

This file is imported by path (absolute imports only).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence


def make_reward_func(
    verifier: Any, prompt_format: str = "auto", timeout_s: float | None = None, fallback_score: float | None = None
):
    """`reward_func(queries, prompts, labels) -> {"rewards", "scores", "extra_logs"}` (tensors)."""
    import torch

    from genrm.integrations import guard as guarding
    from genrm.reward import openrlhf_pairs, openrlhf_response
    from genrm.types import Result

    guard = guarding.GuardedScorer(verifier, timeout_s, "openrlhf")
    fallback = guarding.fallback_score(fallback_score)

    def reward_func(queries: Sequence[str], prompts: Sequence[str] | None = None, labels: Any = None, **kwargs) -> dict:
        clean = getattr(verifier, "clean_completion", lambda s: s)
        pairs, fmt = openrlhf_pairs(list(queries), None if prompts is None else list(prompts), prompt_format, clean)
        results = guard.score(pairs, prompt_format=fmt)
        body = openrlhf_response(results if results is not None else [Result(fallback, [], [])] * len(pairs))
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
    from genrm.integrations import env_prompt_format, env_reward_model

    return make_reward_func(env_reward_model(), env_prompt_format())
