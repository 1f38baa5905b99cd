"""Layer 12, integrations: owns the RL hooks, thin adapters of one verifier (`genrm.serving.reward.RewardModel`,
or `RemoteRewardModel` for a verifier behind `genrm serve`) to the reward interfaces of RL frameworks.

- `genrm.integrations.trl`: `GRPOReward` / `AsyncGRPOReward`, TRL `GRPOTrainer` reward functions (TRL 1.16);
- `genrm.integrations.verl`: `compute_score_async` / `compute_score` for verl's custom reward function
  (verl 0.9.1's reward loop; `compute_score_batch` for older verl's batch manager);
- `genrm.integrations.openrlhf`: `reward_func` for OpenRLHF's `--reward.remote_url reward_func.py` (0.11.2).

The verl and OpenRLHF hooks are files those frameworks import by path; they read the verifier from
GENRM_VERIFIER (a run folder, a trained verifier folder, or the URL of `genrm serve`); they import genrm by
absolute paths for that reason.
Both files check their environment when the framework loads them by path (`check_environment`): the
verifier is loaded then, so an unset or wrong GENRM_VERIFIER, an unknown GENRM_METHOD or a server that does not
answer stops the framework at start-up instead of leaving every sample without a reward (OpenRLHF catches
reward errors and logs them at INFO).
Imports: core, serving (and, through `load_reward_model`, the layers below it).
"""

from __future__ import annotations

import os
from functools import lru_cache


@lru_cache(maxsize=1)
def env_reward_model():
    """The verifier named by GENRM_VERIFIER (+ GENRM_METHOD, GENRM_TASK), loaded once per process."""
    from ..serving.reward import load_reward_model

    return load_reward_model()


def env_prompt_format() -> str:
    from ..core.config import check_prompt_format

    return check_prompt_format(os.environ.get("GENRM_PROMPT_FORMAT", "auto"), "GENRM_PROMPT_FORMAT")


def env_reward_mode() -> str:
    """GENRM_REWARD: outcome (default) or step_min (see `genrm.serving.reward.reward_value`)."""
    from ..core.config import check_reward_mode

    return check_reward_mode(os.environ.get("GENRM_REWARD", "outcome"), "GENRM_REWARD")


def _number(name: str, positive: bool = False) -> None:
    from ..core.errors import GenrmError

    raw = os.environ.get(name)
    if raw is None or raw == "":
        return
    try:
        value = float(raw)
    except ValueError:
        raise GenrmError(f"{name}={raw!r} is not a number: give seconds / a score, or unset it") from None
    if positive and not value > 0:
        raise GenrmError(f"{name}={raw!r}: give a positive number of seconds, or unset it (default 300)")


def check_environment(framework: str, router_allowed: bool = False) -> None:
    """Check the GENRM_* settings a hook file reads and load the verifier they name, raising `GenrmError`
    with the variable and the fix. Called when verl or OpenRLHF loads a hook file by path, so a mistake stops
    the framework at start-up. With `router_allowed` (verl), GENRM_VERIFIER=router defers the verifier to the
    address verl passes (only the method and task are checked then)."""
    from ..core.errors import GenrmError
    from ..core.types import METHODS

    env_prompt_format()
    env_reward_mode()
    _number("GENRM_REWARD_TIMEOUT", positive=True)
    _number("GENRM_REWARD_FALLBACK")
    method = os.environ.get("GENRM_METHOD") or None
    if method is not None and method not in METHODS:
        raise GenrmError(f"GENRM_METHOD={method!r} is not a verifier: use one of {', '.join(METHODS)}")
    source = os.environ.get("GENRM_VERIFIER", "").strip()
    if source == "router" and router_allowed:
        from ..tasks import get_task

        get_task(os.environ.get("GENRM_TASK") or "gsm8k")  # the prompt format read through the router
        return
    if not source:
        router = (
            ", or GENRM_VERIFIER=router when verl hosts the GenRM model (reward.reward_model.enable=True)"
            if router_allowed
            else ""
        )
        raise GenrmError(
            f"genrm's {framework} reward hook: GENRM_VERIFIER is not set. Set it to a run folder, a trained "
            f"verifier folder or the URL of `genrm serve`{router} (in the environment the framework's workers "
            "start with: for a Ray cluster started apart, its runtime_env env_vars)"
        )
    try:
        env_reward_model()
    except GenrmError as e:
        hint = " (set GENRM_METHOD where it says --method)" if "--method" in str(e) else ""
        raise GenrmError(f"genrm's {framework} reward hook: GENRM_VERIFIER={source!r}: {e}{hint}") from e
