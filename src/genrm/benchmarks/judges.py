"""Step predictions from a verifier: where is the first wrong step of a solution, and is it correct at all?

Two ways, one per kind of verifier:

- `PrefixJudge` (any genrm verifier: ORM, DPO, GenRM, GenRM-CoT, LLM-as-a-Judge through a `RewardModel`):
  the solution cut after each step is scored as a whole solution, p(correct) of steps 0..i; the predicted
  first wrong step is the first prefix scored below `threshold` (-1 if none), as process reward models are
  read on ProcessBench. The verdict (p(correct) of the solution) is the score of the whole solution.
- `CritiqueJudge` (a generative model: folder, Hub id, `vllm:<model>`, OpenAI-compatible URL): the benchmark
  authors' critique prompt (`CRITIQUE_TEMPLATE`, ProcessBench's `critique_template.txt`), paragraphs tagged
  `<paragraph_i>`, the index read from the last `\\boxed{}` of the critique as `run_eval.py` reads it (not an
  integer: None); with `votes` > 1 the most common parsed index, as `run_eval.py --use_voting`. Its verdict is
  1 when it predicts -1, else 0 (the share of votes for -1 with several votes).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

from .data import StepItem

STEP_SEPARATOR = "\n\n"
# ProcessBench's templates/critique_template.txt, as the authors' run_eval.py uses it
CRITIQUE_TEMPLATE = (
    "The following is a math problem and a solution (split into paragraphs, enclosed with tags and indexed from "
    "0):\n\n[Math Problem]\n\n{problem}\n\n[Solution]\n\n{tagged_response}\n\nYour task is to review and critique "
    "the solution paragraph by paragraph. Once you identify an error in a paragraph, return the index of the "
    "paragraph where the earliest error occurs. Otherwise, return the index of -1 (which typically denotes "
    '"not found").\n\nPlease put your final answer (i.e., the index) in \\boxed{{}}.'
)


@dataclass
class StepPrediction:
    """`first_error`: the predicted index of the first wrong step, -1 for none, None if nothing was read;
    `verdict`: p(correct) of the whole solution; `prefix_scores` / `critiques`: what it was read from."""

    first_error: int | None
    verdict: float
    prefix_scores: list[float] = field(default_factory=list)
    critiques: list[str] = field(default_factory=list)


class StepJudge(Protocol):
    name: str

    def predict(self, items: Sequence[StepItem]) -> list[StepPrediction]: ...


class PrefixJudge:
    """Score every step prefix with a `RewardModel`-like object (`score([(question, solution)])`)."""

    def __init__(self, reward_model: Any, threshold: float = 0.5, separator: str = STEP_SEPARATOR):
        self.reward_model, self.threshold, self.separator = reward_model, threshold, separator
        self.name = f"{getattr(reward_model, 'name', 'verifier')} (prefixes, threshold {threshold})"

    def predict(self, items: Sequence[StepItem]) -> list[StepPrediction]:
        pairs = [(it.question, self.separator.join(it.steps[: i + 1])) for it in items for i in range(len(it.steps))]
        scores = [r.score for r in self.reward_model.score(pairs)] if pairs else []
        out, at = [], 0
        for it in items:
            mine = scores[at : at + len(it.steps)]
            at += len(it.steps)
            first = next((i for i, s in enumerate(mine) if s < self.threshold), -1)
            out.append(StepPrediction(first, mine[-1], prefix_scores=mine))
        return out


def tagged_response(steps: Sequence[str]) -> str:
    return "\n\n".join(f"<paragraph_{i}>\n{s}\n</paragraph_{i}>" for i, s in enumerate(steps)).strip()


def extract_index(critique: str) -> str | None:
    """The last `\\boxed{...}` content of a critique (run_eval.py's `extract_answer`)."""
    matches = re.findall(r"\\boxed\{([^}]*)\}", critique)
    return matches[-1].strip() if matches else None


def _as_int(x: str | None) -> int | None:
    try:
        return int(x) if x is not None else None
    except ValueError:
        return None


class CritiqueJudge:
    """The authors' critique prompt on a generative model (an `Engine`)."""

    def __init__(
        self,
        engine: Any,
        name: str,
        votes: int = 1,
        temperature: float | None = None,
        max_new_tokens: int = 2048,
        seed: int = 42,
        template: str = CRITIQUE_TEMPLATE,
    ):
        self.engine, self.votes, self.max_new_tokens, self.seed, self.template = (
            engine,
            votes,
            max_new_tokens,
            seed,
            template,
        )
        self.temperature = (0.0 if votes == 1 else 1.0) if temperature is None else temperature
        self.name = f"{name} (critique prompt{f', {votes} votes' if votes > 1 else ''})"

    def prompt(self, item: StepItem) -> str:
        return self.template.format(problem=item.question, tagged_response=tagged_response(item.steps))

    def predict(self, items: Sequence[StepItem]) -> list[StepPrediction]:
        texts = self.engine.generate(
            [self.prompt(it) for it in items],
            n=self.votes,
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            seed=self.seed,
        )
        out = []
        for critiques in texts:
            parsed = [p for p in (extract_index(c) for c in critiques) if p is not None]
            if self.votes == 1:
                first = _as_int(parsed[0]) if parsed else None
            else:  # run_eval.py --use_voting: the most common parsed string, then int()
                first = _as_int(Counter(parsed).most_common(1)[0][0]) if parsed else None
            ints = [_as_int(p) for p in parsed]
            verdict = sum(i == -1 for i in ints) / len(critiques)
            out.append(StepPrediction(first, verdict, critiques=list(critiques)))
        return out
