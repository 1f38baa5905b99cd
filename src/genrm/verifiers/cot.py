"""GenRM-CoT: K sampled verification rationales, p(" Yes") after each, averaged (majority voting). With an
untuned model and worked examples in its `context` it is the LLM-as-a-Judge baseline."""

from __future__ import annotations

from typing import Sequence

from ..core.formats import VerifyFormat
from ..core.types import Engine, Item, PrefixSharingEngine, Probs, Result
from .direct import yes_probability


class CoTVerifier:
    def __init__(
        self,
        engine: Engine,
        k: int = 4,
        fmt: VerifyFormat | None = None,
        temperature: float = 1.0,
        max_new_tokens: int | None = None,
        normalize: bool = False,
        seed: int = 0,
        shared_prefix: bool = True,
        context: str = "",
    ):
        self.engine, self.k, self.fmt = engine, k, fmt or VerifyFormat()
        self.context = context  # text before every verification prompt: worked examples for a prompted judge
        max_new_tokens = max_new_tokens or self.fmt.max_rationale_tokens
        self.temperature, self.max_new_tokens, self.normalize, self.seed = temperature, max_new_tokens, normalize, seed
        # one prefill per candidate for its K rationales, where the engine can (Transformers; vLLM caches prefixes)
        self.shared_prefix = shared_prefix and isinstance(engine, PrefixSharingEngine)

    def score(self, items: Sequence[Item], description: str | None = None) -> list[Result]:
        cot_prompts = [self.context + self.fmt.cot_prompt(p, s) for p, s in items]
        rationales, probs = (self._shared if self.shared_prefix else self._naive)(cot_prompts, description)
        out = []
        for rs, ps in zip(rationales, probs):
            votes = [yes_probability(py, pn, self.normalize) for py, pn in ps]
            out.append(Result(sum(votes) / len(votes), votes, list(rs)))
        return out

    def _shared(self, cot_prompts: list[str], description: str | None) -> tuple[list[list[str]], list[Probs]]:
        """K rationales per candidate from one prefill; p(Yes) continuing the same cache."""
        assert isinstance(self.engine, PrefixSharingEngine)
        return self.engine.sample_and_decide(
            cot_prompts,
            self.k,
            self.fmt.decision_prefix,
            (self.fmt.yes, self.fmt.no),
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            seed=self.seed,
            stop=self.fmt.rationale_stop,
            description=description and f"{description}: rationales",
        )

    def _naive(self, cot_prompts: list[str], description: str | None) -> tuple[list[list[str]], list[Probs]]:
        """K rationales per candidate (each prefilled), then p(Yes) after each, encoded from scratch."""
        rationales = self.engine.generate(
            cot_prompts,
            n=self.k,
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            seed=self.seed,
            stop=self.fmt.rationale_stop,
            description=description and f"{description}: rationales",
        )
        queries = [cp for cp, rs in zip(cot_prompts, rationales) for _ in rs]
        prefixes = [self.fmt.decision_prefix(r) for rs in rationales for r in rs]
        flat = self.engine.choice_probs(queries, (self.fmt.yes, self.fmt.no), prefixes=prefixes)
        return rationales, [flat[i * self.k : (i + 1) * self.k] for i in range(len(rationales))]
