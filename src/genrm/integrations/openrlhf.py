"""OpenRLHF's reward function file over a verifier:

    GENRM_VERIFIER=runs/gsm8k  openrlhf.cli.train_ppo_ray ... \
        --remote_rm_url $(python -c "import genrm.integrations.openrlhf as m; print(m.__file__)")

OpenRLHF calls `reward_func(queries, prompts, labels)` with `queries` = prompt + response; the
response is what follows the prompt. The prompt is read per GENRM_PROMPT_FORMAT (default `auto`:
verbatim when it is already in the verifier's prompt format, else put into it as a question).
Labels are accepted and not used: a verifier needs no reference answer.
(For a verifier on another machine, serve it with `genrm serve` and give OpenRLHF
`--remote_rm_url http://host:port/get_reward` instead: same protocol.)

This file is imported by path (absolute imports only).
"""

from __future__ import annotations

from typing import Any, Sequence


def make_reward_func(verifier: Any, prompt_format: str = "auto"):
    """`reward_func(queries, prompts, labels) -> {"rewards", "scores", "extra_logs"}` (tensors)."""
    import torch

    from genrm.reward import openrlhf_pairs, openrlhf_response

    def reward_func(queries: Sequence[str], prompts: Sequence[str] | None = None, labels: Any = None, **kwargs) -> dict:
        clean = getattr(verifier, "clean_completion", lambda s: s)
        pairs, fmt = openrlhf_pairs(list(queries), None if prompts is None else list(prompts), prompt_format, clean)
        body = openrlhf_response(verifier.score(pairs, prompt_format=fmt))
        return {
            "rewards": torch.tensor(body["rewards"], dtype=torch.float32),
            "scores": torch.tensor(body["scores"], dtype=torch.float32),
            "extra_logs": {k: torch.tensor(v, dtype=torch.float32) for k, v in body["extra_logs"].items()},
        }

    return reward_func


def reward_func(queries: Sequence[str], prompts: Sequence[str] | None = None, labels: Any = None, **kwargs) -> dict:
    """OpenRLHF's entry point; the verifier comes from GENRM_VERIFIER (loaded once per process)."""
    from genrm.integrations import env_prompt_format, env_reward_model

    return make_reward_func(env_reward_model(), env_prompt_format())(queries, prompts, labels)
