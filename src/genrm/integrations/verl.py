"""verl custom reward functions over a verifier.

In a verl config (the verifier from GENRM_VERIFIER: a run folder, a verifier folder, or the URL of
`genrm serve`; the question from `extra_info["question"]`, as verl's GSM8K preprocessing stores it,
or GENRM_QUESTION_KEY):

    custom_reward_function.path=$(python -c "import genrm.integrations.verl as m; print(m.__file__)")
    custom_reward_function.name=compute_score           # NaiveRewardManager: one call per response
    # or, one model call per batch:
    custom_reward_function.name=compute_score_batch reward_model.reward_manager=batch

`make_compute_score(verifier)` builds the same functions around a verifier object in code.
A verifier needs no reference answer: `ground_truth` is accepted and not used.
A call that fails or runs past the deadline (GENRM_REWARD_TIMEOUT, default 300 s) scores every response
GENRM_REWARD_FALLBACK (default 0.0) and logs a warning (`genrm.integrations.guard`); a missing question
in `extra_info` is a setup error and is raised.

This file is imported by path (absolute imports only).
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Callable, Sequence

from genrm.errors import GenrmError


def _question(extra_info: Any, key: str, i: int) -> str:
    if isinstance(extra_info, dict) and isinstance(extra_info.get(key), str):
        return extra_info[key]
    have = ", ".join(extra_info) if isinstance(extra_info, dict) else type(extra_info).__name__
    raise GenrmError(
        f"extra_info[{i}] has no '{key}' string (it has: {have}); store the question in extra_info['{key}'] "
        "when preprocessing the data, or name its key in GENRM_QUESTION_KEY"
    )


def make_compute_score(
    verifier: Any,
    question_key: str = "question",
    prompt_format: str = "auto",
    timeout_s: float | None = None,
    fallback_score: float | None = None,
) -> tuple[Callable, Callable]:
    """`(compute_score, compute_score_batch)` with verl's signatures, around one verifier."""
    from genrm.integrations import guard as guarding

    guard = guarding.GuardedScorer(verifier, timeout_s, "verl")
    fallback = guarding.fallback_score(fallback_score)

    def compute_score_batch(
        data_sources: Sequence, solution_strs: Sequence[str], ground_truths: Sequence, extra_infos: Sequence, **kwargs
    ) -> list[float]:
        items = [(_question(info, question_key, i), s) for i, (s, info) in enumerate(zip(solution_strs, extra_infos))]
        results = guard.score(items, prompt_format=prompt_format)
        return [fallback] * len(items) if results is None else [float(r.score) for r in results]

    def compute_score(data_source, solution_str: str, ground_truth=None, extra_info=None, **kwargs) -> float:
        return compute_score_batch([data_source], [solution_str], [ground_truth], [extra_info])[0]

    return compute_score, compute_score_batch


@lru_cache(maxsize=1)
def _env_functions() -> tuple[Callable, Callable]:
    from genrm.integrations import env_prompt_format, env_reward_model

    return make_compute_score(env_reward_model(), os.environ.get("GENRM_QUESTION_KEY", "question"), env_prompt_format())


def compute_score(data_source, solution_str: str, ground_truth=None, extra_info=None, **kwargs) -> float:
    """verl's per-response reward: p(correct) of `solution_str` for the question in `extra_info`."""
    return _env_functions()[0](data_source, solution_str, ground_truth, extra_info)


def compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos, **kwargs) -> list[float]:
    """verl's batched reward (`reward_model.reward_manager=batch`): one verifier call per batch."""
    return _env_functions()[1](data_sources, solution_strs, ground_truths, extra_infos)
