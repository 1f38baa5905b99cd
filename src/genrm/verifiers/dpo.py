"""The DPO verifier (V-STaR): a DPO-trained policy scores a solution by its probability."""

from __future__ import annotations

import math
from typing import Sequence

from ..core.errors import GenrmError
from ..core.types import Item, Result
from ..engines.hf import TransformersEngine


class DPOVerifier:
    """The DPO verifier of V-STaR and the GenRM paper: a policy trained with DPO on (correct, incorrect) solution
    pairs of one problem scores a solution by log pi_DPO(y | x) without subtracting the reference (the paper found
    that better) and without length normalisation. `Result.score` is exp of it, pi(y | x) in [0, 1], which ranks
    exactly as log pi does; it is not a calibrated probability of correctness."""

    def __init__(self, engine: TransformersEngine):
        if not hasattr(engine, "sequence_logprobs"):
            raise GenrmError("the DPO verifier needs a Transformers engine (sequence log-probabilities); give a folder")
        self.engine = engine

    def score(self, items: Sequence[Item], description: str | None = None) -> list[Result]:
        logps = self.engine.sequence_logprobs([p for p, _ in items], [s for _, s in items], description=description)
        return [Result(math.exp(lp), [], []) for lp in logps]
