"""Layer 6, verifiers: score (solve prompt, solution) pairs.

- `ORMVerifier`: sigmoid of a scalar head (discriminative reward model).
- `GenRMVerifier`: p(" Yes") at the decision token after the direct verification prompt.
- `CoTVerifier`: GenRM-CoT: sample K rationales, read p(" Yes") after each, average (majority
  voting). With an untuned model (and worked examples in its `context`) it is the LLM-as-a-Judge baseline.
- `DPOVerifier`: a DPO-trained policy (V-STaR); score = pi(solution | problem), the whole solution's probability.
Each is a `genrm.core.types.Verifier` and returns one `Result(score, votes, rationales)` per item.
`build_verifier(method, model, fmt, ...)` is the one way the pipeline, `RewardModel` and
`genrm serve` make them.

Owns one module per method (`orm`, `dpo`, `direct`, `cot`) and the builder. Imports: core, tasks, models, engines,
data.
"""

from ..core.types import METHODS
from .builder import build_verifier, check_method
from .cot import CoTVerifier
from .direct import GenRMVerifier
from .dpo import DPOVerifier
from .orm import ORMVerifier

__all__ = ["METHODS", "CoTVerifier", "DPOVerifier", "GenRMVerifier", "ORMVerifier", "build_verifier", "check_method"]
