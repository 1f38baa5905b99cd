"""GenRM (direct): p(" Yes") at the decision token after the direct verification prompt."""

from __future__ import annotations

from typing import Sequence

from ..core.formats import VerifyFormat
from ..core.types import Engine, Item, Result


def yes_probability(p_yes: float, p_no: float, normalize: bool) -> float:
    """p(" Yes"), or p(" Yes") / (p(" Yes") + p(" No")) when `normalize`."""
    return p_yes / max(p_yes + p_no, 1e-12) if normalize else p_yes


class GenRMVerifier:
    def __init__(self, engine: Engine, fmt: VerifyFormat | None = None, normalize: bool = False):
        self.engine, self.fmt, self.normalize = engine, fmt or VerifyFormat(), normalize

    def score(self, items: Sequence[Item], description: str | None = None) -> list[Result]:
        prompts = [self.fmt.direct_prompt(p, s) for p, s in items]
        probs = self.engine.choice_probs(prompts, (self.fmt.yes, self.fmt.no), description=description)
        return [Result(yes_probability(py, pn, self.normalize), [], []) for py, pn in probs]
