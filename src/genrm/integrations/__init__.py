"""Layer 12, integrations: owns the RL hooks, thin adapters of one verifier (`genrm.serving.reward.RewardModel`,
or `RemoteRewardModel` for a verifier behind `genrm serve`) to the reward interfaces of RL frameworks.

- `genrm.integrations.trl`: `GRPOReward` / `AsyncGRPOReward`, TRL `GRPOTrainer` reward functions (TRL 1.16);
- `genrm.integrations.verl`: `compute_score_async` / `compute_score` for verl's custom reward function
  (verl 0.9.1's reward loop; `compute_score_batch` for older verl's batch manager);
- `genrm.integrations.openrlhf`: `reward_func` for OpenRLHF's `--reward.remote_url reward_func.py` (0.11.2).

The verl and OpenRLHF hooks are files those frameworks import by path; they read the verifier from
GENRM_VERIFIER (a run folder, a trained verifier folder, or the URL of `genrm serve`); they import genrm by
absolute paths for that reason.
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
